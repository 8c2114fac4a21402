"""Runs the snippet's code as `python3 -c` would: its own __main__, argv, sys.path,
signal dispositions, excepthook, exit code and traceback."""
import builtins
import importlib.machinery
import os
import signal
import sys
import traceback
import types


def signal_state():
    """This process's Python-level signal handlers and blocked mask."""
    handlers = []
    for sig in signal.valid_signals():
        try:
            handler = signal.getsignal(sig)
        except (OSError, ValueError):
            continue
        if handler is not None:  # None: a handler set outside Python, which cannot be restored
            handlers.append((sig, handler))
    return handlers, signal.pthread_sigmask(signal.SIG_BLOCK, [])


# What `python3 -c` starts with, taken when the worker imports this module: the worker's
# interpreter has just started (from node, or from bwrap, which leave every disposition
# at its default and nothing blocked), and nothing has set a handler yet. SIGINT raises
# KeyboardInterrupt, SIGPIPE and SIGXFSZ are ignored (Python's own start), the rest default.
START_SIGNALS = signal_state()
# Whether this interpreter gives `python3 -c`'s __main__ an __annotations__ dict (the
# worker's own __main__ module is the one the interpreter made: runpy only ran __main__.py in it).
MAIN_ANNOTATIONS = '__annotations__' in vars(sys.modules['__main__'])


def python_c_world():
    """What the spare changes once prepared, before its request: the signal dispositions
    and mask `python3 -c` starts with (the child's setup resets some: SIGINT must raise
    KeyboardInterrupt again), and sys.path[0] = '' (the cwd, the scratch directory), which
    `python3 -c` puts first. (The worker's own directory is not on sys.path: see __main__.)"""
    handlers, mask = START_SIGNALS
    for sig, handler in handlers:
        if signal.getsignal(sig) is not handler:
            signal.signal(sig, handler)
    if signal.pthread_sigmask(signal.SIG_BLOCK, []) != mask:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    sys.path.insert(0, '')


def child_run(code):
    """Runs the snippet like `python3 -c`; returns (exit code, uncaught exception name).
    An uncaught KeyboardInterrupt returns 130, the code `python3 -c` exits with when it
    cannot kill itself with SIGINT (the caller does that first: see child_main)."""
    main = types.ModuleType('__main__')
    main.__loader__ = importlib.machinery.BuiltinImporter  # as `python3 -c`'s __main__
    if MAIN_ANNOTATIONS:
        main.__annotations__ = {}
    main.__builtins__ = builtins  # the module, as in `python3 -c` (in an imported module `__builtins__` is its dict)
    sys.modules['__main__'] = main
    sys.argv = ['-c']
    if hasattr(sys, 'orig_argv'):
        sys.orig_argv = sys.orig_argv[:1] + ['-c', code]
    exit_code, exc_name = 0, None
    try:
        exec(compile(code, '<string>', 'exec'), main.__dict__)
    except SystemExit as e:
        if e.code is None:
            exit_code = 0
        elif isinstance(e.code, int):
            exit_code = e.code & 0xFF
        else:
            print(e.code, file=sys.stderr)
            exit_code = 1
    except BaseException as e:
        exc_name = type(e).__name__
        try:  # through sys.excepthook (the snippet may set its own), without the harness's frame, as `python3 -c`
            e.__traceback__ = e.__traceback__.tb_next  # the default hook prints the exception's own
            sys.excepthook(type(e), e, e.__traceback__)
        except BaseException:  # out of memory, or the snippet broke its hook or sys
            try:
                traceback.print_exception(type(e), e, e.__traceback__)
            except BaseException:
                try:
                    os.write(2, ('%s\n' % exc_name).encode())
                except BaseException:
                    pass
        exit_code = 130 if isinstance(e, KeyboardInterrupt) else 1
    try:
        import threading
        threading._shutdown()  # join non-daemon threads, as interpreter exit does
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    return exit_code, exc_name

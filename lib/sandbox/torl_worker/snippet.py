"""Runs the snippet's code as `python3 -c` would: its own __main__, argv, exit code and
traceback."""
import builtins
import os
import sys
import traceback
import types


def child_run(code):
    """Runs the snippet like `python3 -c`; returns (exit code, uncaught exception name)."""
    main = types.ModuleType('__main__')
    main.__builtins__ = builtins  # the module, as in `python3 -c` (in an imported module `__builtins__` is its dict)
    sys.modules['__main__'] = main
    sys.argv = ['-c']
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
        try:  # without the harness's own frame, as `python3 -c` prints it
            traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        except BaseException:  # out of memory, or the snippet broke traceback/sys
            try:
                os.write(2, ('%s\n' % exc_name).encode())
            except BaseException:
                pass
        exit_code = 1
    try:
        import threading
        threading._shutdown()  # join non-daemon threads, as interpreter exit does
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    return exit_code, exc_name

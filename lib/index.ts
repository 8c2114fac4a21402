// torl: the public API. Each area lives in its own folder under lib/ and is
// re-exported here; nothing else in the package is public.

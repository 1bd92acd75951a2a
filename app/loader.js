// Starts Quire: imports the wasm-bindgen glue and instantiates the wasm module, whose
// content-hashed names Trunk writes into index.html (`pattern_script` in Trunk.toml). A file
// of its own rather than Trunk's default inline loader, so the relay's Content Security Policy
// allows scripts from the app's origin only, never inline ones.
const asset = (name) => document.querySelector(`meta[name="${name}"]`).content;
const { default: init } = await import(asset('quire-js'));
const wasm = await init({ module_or_path: asset('quire-wasm') });
// The module's memory, for the shared-files benchmark's memory figures (tests/bench/).
globalThis.quireWasmMemory = wasm.memory;

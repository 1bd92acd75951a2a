//! Entry point of the wasm bundle: install the panic hook, then mount the app.

fn main() {
    // A panic in wasm is otherwise an opaque "unreachable" trap; the hook prints the message
    // to the console, where the end-to-end tests' console-error check catches it.
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(quire_app::shell::App);
}

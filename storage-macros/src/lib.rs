//! Procedural macros of the gateway storage crate.
//!
//! - [`seed_table!`] turns the declarative table of default proxies and routes into static
//!   data, and rejects a bad table at compile time with an error on the offending token, so a
//!   typo in the defaults can never reach a running gateway.
//! - [`mode_keep`] and [`mode_skip`] are the two trivial attributes that let one source file be
//!   compiled twice: each mode module imports them under the names `blocking_only` and
//!   `async_only`, swapped, so an item marked `#[async_only]` exists only in the async copy.
//! - [`test_blocking`] and [`test_async`] play the same part for test suites written once:
//!   each test module imports one of them as `maybe_test`.

mod seed_table;

use proc_macro::TokenStream;

/// Keeps the item it is put on, unchanged. Imported under a mode's own name
/// (`blocking_only` in the blocking module, `async_only` in the async one).
#[proc_macro_attribute]
pub fn mode_keep(args: TokenStream, item: TokenStream) -> TokenStream {
    match no_args(args) {
        Ok(()) => item,
        Err(error) => error.to_compile_error().into(),
    }
}

/// Removes the item it is put on. Imported under the *other* mode's name, so the item marked
/// for one mode disappears from the other mode's copy.
#[proc_macro_attribute]
pub fn mode_skip(args: TokenStream, _item: TokenStream) -> TokenStream {
    match no_args(args) {
        Ok(()) => TokenStream::new(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// A blocking test: `#[test]`. Test suites import it as `maybe_test` in their blocking
/// module, so one test source runs in both modes.
#[proc_macro_attribute]
pub fn test_blocking(args: TokenStream, item: TokenStream) -> TokenStream {
    with_attribute(args, item, quote::quote!(#[::core::prelude::v1::test]))
}

/// An async test on a multi-threaded tokio runtime, so spawned tasks run in parallel.
/// Test suites import it as `maybe_test` in their async module.
#[proc_macro_attribute]
pub fn test_async(args: TokenStream, item: TokenStream) -> TokenStream {
    with_attribute(
        args,
        item,
        quote::quote!(#[::tokio::test(flavor = "multi_thread", worker_threads = 4)]),
    )
}

fn with_attribute(
    args: TokenStream,
    item: TokenStream,
    attribute: proc_macro2::TokenStream,
) -> TokenStream {
    if let Err(error) = no_args(args) {
        return error.to_compile_error().into();
    }
    let item = proc_macro2::TokenStream::from(item);
    quote::quote!(#attribute #item).into()
}

fn no_args(args: TokenStream) -> syn::Result<()> {
    let args = proc_macro2::TokenStream::from(args);
    match args.into_iter().next() {
        None => Ok(()),
        Some(token) => Err(syn::Error::new(
            token.span(),
            "this attribute takes no arguments",
        )),
    }
}

/// Expands a table of default proxies and routes into `DEFAULT_PROXIES` and `DEFAULT_ROUTES`
/// (`&[storage::seed::DefaultProxy]`, `&[storage::seed::DefaultRoute]`).
///
/// ```text
/// seed_table! {
///     proxy "localhost" {
///         target_url: "http://127.0.0.1:9000",
///         enable_https: false,
///         auth_excluded_paths: ["/token", "/.well-known/"],
///         resource {
///             endpoint: "/",
///             scopes: ["mcp"],
///             server_info: { "name": "Gateway" },
///         },
///     }
///     route "token" { path: "/token", priority: 95, url: "http://api:9000" }
/// }
/// ```
///
/// Compile errors, each on the offending token: a duplicate hostname or route id, a priority
/// outside `0..=999`, a path or excluded path not starting with `/`, an unknown or repeated
/// field, a missing required field, a value of the wrong kind, a malformed `http(s)` URL.
#[proc_macro]
pub fn seed_table(input: TokenStream) -> TokenStream {
    match seed_table::expand(input.into()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

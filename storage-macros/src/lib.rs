//! Procedural macros of the gateway storage crate.
//!
//! - [`seed_table!`] turns the declarative table of default proxies and routes into static
//!   data, and rejects a bad table at compile time with an error on the offending token, so a
//!   typo in the defaults can never reach a running gateway.
//! - [`operation`] is the one attribute on every public operation of the storage: the mode's
//!   `maybe_async` attribute, a `tracing` span named after the operation, and its metrics.
//! - [`test_blocking`] and [`test_async`] play the same part for test suites written once:
//!   each test module imports one of them as `maybe_test`.

mod seed_table;

use proc_macro::TokenStream;

/// Marks a public operation of the storage, written once and compiled in both modes:
///
/// ```text
/// #[operation]                      // span and metrics named after the function
/// pub async fn get_route(&self, route_id: &str) -> Result<Option<Route>> { ... }
///
/// #[operation(name = "renew_lock")] // only where the name must differ
/// pub async fn renew(&self, ttl: Duration) -> Result<()> { ... }
/// ```
///
/// expands to `#[maybe]` (the mode's `maybe_async` attribute, which strips `async` and
/// `.await` in the blocking copy), a `tracing` span with the operation's name and the mode
/// (`MODE`) and no arguments, so no value, token or password can reach a span, and the
/// operation's count and duration with its outcome, recorded through `self.telemetry()`.
/// The body moves to a private function of the same signature, so every way out of it
/// (`?`, `return`) is recorded. `maybe` and `MODE` are resolved where the attribute is
/// used: each mode imports its own.
#[proc_macro_attribute]
pub fn operation(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand_operation(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn expand_operation(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let function: syn::ImplItemFn = syn::parse2(item)?;
    let name = if args.is_empty() {
        function.sig.ident.to_string()
    } else {
        let pair: syn::MetaNameValue = syn::parse2(args)?;
        if !pair.path.is_ident("name") {
            return Err(syn::Error::new_spanned(
                pair.path,
                "expected `name = \"...\"`",
            ));
        }
        match pair.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) => text.value(),
            other => return Err(syn::Error::new_spanned(other, "the name must be a string")),
        }
    };
    let body_name = quote::format_ident!("__{}", function.sig.ident);
    let mut outer = function.sig.clone();
    let mut arguments = Vec::new();
    let mut by_value = false;
    for (position, input) in outer.inputs.iter_mut().enumerate() {
        match input {
            syn::FnArg::Receiver(receiver) => {
                by_value = receiver.reference.is_none();
                receiver.mutability = None;
            }
            syn::FnArg::Typed(typed) => {
                let argument = quote::format_ident!("__argument{}", position);
                *typed.pat = syn::parse_quote!(#argument);
                arguments.push(argument);
            }
        }
    }
    if !matches!(function.sig.inputs.first(), Some(syn::FnArg::Receiver(_))) {
        return Err(syn::Error::new_spanned(
            &function.sig,
            "an operation is a method: its telemetry is `self.telemetry()`",
        ));
    }
    let returns = match &function.sig.output {
        syn::ReturnType::Type(_, returned) => returned,
        syn::ReturnType::Default => {
            return Err(syn::Error::new_spanned(
                &function.sig,
                "an operation returns a `Result`",
            ))
        }
    };
    let telemetry = if by_value {
        quote::quote!(::std::sync::Arc::clone(self.telemetry()))
    } else {
        quote::quote!(self.telemetry())
    };
    let attributes = &function.attrs;
    let kept: Vec<_> = attributes
        .iter()
        .filter(|attribute| !attribute.path().is_ident("doc"))
        .collect();
    let visibility = &function.vis;
    let mut body = function.clone();
    body.attrs = kept.iter().map(|attribute| (*attribute).clone()).collect();
    body.vis = syn::Visibility::Inherited;
    body.sig.ident = body_name.clone();
    Ok(quote::quote! {
        #[maybe]
        #[::tracing::instrument(name = #name, skip_all, fields(mode = MODE))]
        #(#attributes)*
        #visibility #outer {
            static SITE: crate::telemetry::OperationSite =
                crate::telemetry::OperationSite::new(#name, MODE);
            let started = ::std::time::Instant::now();
            let telemetry = #telemetry;
            let result: #returns = Self::#body_name(self, #(#arguments),*).await;
            telemetry.operation(&SITE, started, result.as_ref().err());
            result
        }

        #[maybe]
        #body
    })
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

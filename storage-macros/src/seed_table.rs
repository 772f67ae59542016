//! Parsing, validation and expansion of `seed_table!`.
//!
//! The table is parsed into a loose tree of fields first, then read against a fixed schema.
//! Every check reports on the token that broke it, which is what makes trybuild's expected
//! output readable.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{braced, bracketed, Ident, LitBool, LitInt, LitStr, Token};

const MAX_PRIORITY: u16 = 999;

pub fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let table: Table = syn::parse2(input)?;
    let mut hostnames = HashSet::new();
    let mut route_ids = HashSet::new();
    let mut proxies = Vec::new();
    let mut routes = Vec::new();
    for entry in table.entries {
        let name = entry.name.value();
        match entry.kind.to_string().as_str() {
            "proxy" => {
                if !hostnames.insert(name) {
                    return Err(error(&entry.name, "duplicate default proxy hostname"));
                }
                proxies.push(proxy(entry)?);
            }
            "route" => {
                if !route_ids.insert(name) {
                    return Err(error(&entry.name, "duplicate default route id"));
                }
                routes.push(route(entry)?);
            }
            _ => {
                return Err(syn::Error::new(
                    entry.kind.span(),
                    "expected `proxy` or `route`",
                ))
            }
        }
    }
    Ok(quote! {
        /// Default proxy targets, created when missing and repaired on every initialization.
        pub static DEFAULT_PROXIES: &[::storage::seed::DefaultProxy] = &[#(#proxies),*];
        /// Default routes, created when missing and otherwise left alone.
        pub static DEFAULT_ROUTES: &[::storage::seed::DefaultRoute] = &[#(#routes),*];
    })
}

fn proxy(entry: Entry) -> syn::Result<TokenStream> {
    let hostname = &entry.name;
    let host = hostname.value();
    if host.is_empty()
        || host
            .chars()
            .any(|c| c.is_whitespace() || "*?[]{}:".contains(c))
    {
        return Err(error(hostname, "invalid hostname"));
    }
    let mut fields = FieldReader::new(entry.fields, entry.name.span());
    let target_url = fields.url("target_url")?;
    let enable_http = fields.bool("enable_http", true)?;
    let enable_https = fields.bool("enable_https", true)?;
    let preserve_host_header = fields.bool("preserve_host_header", true)?;
    let auth_enabled = fields.bool("auth_enabled", false)?;
    let excluded = fields.paths("auth_excluded_paths")?;
    let resource = match fields.block("resource")? {
        None => quote!(::core::option::Option::None),
        Some((block, span)) => {
            let mut resource = FieldReader::new(block, span);
            let endpoint = resource.path("endpoint")?;
            let scopes = resource.list("scopes")?;
            let versions = resource.list("versions")?;
            let bearer_methods = resource.list("bearer_methods")?;
            let documentation_suffix = resource.optional_path("documentation_suffix")?;
            let server_info = resource.map("server_info")?;
            let custom_metadata = resource.map("custom_metadata")?;
            resource.finish()?;
            quote!(::core::option::Option::Some(::storage::seed::DefaultResource {
                endpoint: #endpoint,
                scopes: &[#(#scopes),*],
                versions: &[#(#versions),*],
                bearer_methods: &[#(#bearer_methods),*],
                documentation_suffix: #documentation_suffix,
                server_info: &[#(#server_info),*],
                custom_metadata: &[#(#custom_metadata),*],
            }))
        }
    };
    fields.finish()?;
    Ok(quote! {
        ::storage::seed::DefaultProxy {
            hostname: #hostname,
            target_url: #target_url,
            enable_http: #enable_http,
            enable_https: #enable_https,
            preserve_host_header: #preserve_host_header,
            auth_enabled: #auth_enabled,
            auth_excluded_paths: &[#(#excluded),*],
            resource: #resource,
        }
    })
}

fn route(entry: Entry) -> syn::Result<TokenStream> {
    let route_id = &entry.name;
    let id = route_id.value();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(error(
            route_id,
            "route id must be letters, digits, `-`, `_` or `.`",
        ));
    }
    let mut fields = FieldReader::new(entry.fields, entry.name.span());
    let path = fields.path("path")?;
    let priority = fields.priority("priority")?;
    let url = fields.url("url")?;
    let description = fields
        .optional_str("description")?
        .unwrap_or_else(|| LitStr::new("", route_id.span()));
    fields.finish()?;
    Ok(quote! {
        ::storage::seed::DefaultRoute {
            route_id: #route_id,
            path: #path,
            priority: #priority,
            url: #url,
            description: #description,
        }
    })
}

fn error(lit: &LitStr, message: &str) -> syn::Error {
    syn::Error::new(lit.span(), format!("{message}: {:?}", lit.value()))
}

/// `http://` or `https://`, a host without whitespace, an optional numeric port.
fn check_url(lit: &LitStr) -> syn::Result<()> {
    let value = lit.value();
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))
        .ok_or_else(|| error(lit, "URL must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if host_ok && port_ok && !value.chars().any(char::is_whitespace) {
        Ok(())
    } else {
        Err(error(lit, "malformed URL"))
    }
}

fn check_path(lit: &LitStr) -> syn::Result<()> {
    if lit.value().starts_with('/') {
        Ok(())
    } else {
        Err(error(lit, "path must start with `/`"))
    }
}

struct Table {
    entries: Vec<Entry>,
}

struct Entry {
    kind: Ident,
    name: LitStr,
    fields: Vec<Field>,
}

struct Field {
    name: Ident,
    value: Value,
}

enum Value {
    Str(LitStr),
    Bool(LitBool),
    Int(LitInt),
    List(Vec<LitStr>),
    Map(Vec<(LitStr, LitStr)>),
    Block(Vec<Field>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::List(_) => "a list of strings",
            Value::Map(_) => "a map of strings",
            Value::Block(_) => "a block",
        }
    }
}

impl Parse for Table {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut entries = Vec::new();
        while !input.is_empty() {
            let kind: Ident = input.parse()?;
            let name: LitStr = input.parse()?;
            let fields = parse_block(input)?;
            input.parse::<Option<Token![,]>>()?;
            entries.push(Entry { kind, name, fields });
        }
        Ok(Table { entries })
    }
}

fn parse_block(input: ParseStream) -> syn::Result<Vec<Field>> {
    let content;
    braced!(content in input);
    let mut fields: Vec<Field> = Vec::new();
    while !content.is_empty() {
        let name: Ident = content.parse()?;
        if fields.iter().any(|field| field.name == name) {
            return Err(syn::Error::new(
                name.span(),
                format!("field `{name}` given twice"),
            ));
        }
        let value = if content.peek(syn::token::Brace) {
            Value::Block(parse_block(&content)?)
        } else {
            content.parse::<Token![:]>()?;
            parse_value(&content)?
        };
        fields.push(Field { name, value });
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(fields)
}

fn parse_value(input: ParseStream) -> syn::Result<Value> {
    let lookahead = input.lookahead1();
    if lookahead.peek(LitStr) {
        Ok(Value::Str(input.parse()?))
    } else if lookahead.peek(LitBool) {
        Ok(Value::Bool(input.parse()?))
    } else if lookahead.peek(LitInt) {
        Ok(Value::Int(input.parse()?))
    } else if lookahead.peek(syn::token::Bracket) {
        let content;
        bracketed!(content in input);
        let items = content.parse_terminated(<LitStr as Parse>::parse, Token![,])?;
        Ok(Value::List(items.into_iter().collect()))
    } else if lookahead.peek(syn::token::Brace) {
        let content;
        braced!(content in input);
        let mut pairs = Vec::new();
        while !content.is_empty() {
            let key: LitStr = content.parse()?;
            content.parse::<Token![:]>()?;
            let value: LitStr = content.parse()?;
            pairs.push((key, value));
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        Ok(Value::Map(pairs))
    } else {
        Err(lookahead.error())
    }
}

/// Reads an entry's fields against the schema; whatever is left at `finish` is unknown.
struct FieldReader {
    fields: Vec<Field>,
    entry: Span,
}

impl FieldReader {
    fn new(fields: Vec<Field>, entry: Span) -> Self {
        FieldReader { fields, entry }
    }

    fn take(&mut self, name: &str) -> Option<Field> {
        let index = self.fields.iter().position(|field| field.name == name)?;
        Some(self.fields.remove(index))
    }

    fn required(&mut self, name: &str) -> syn::Result<Field> {
        self.take(name)
            .ok_or_else(|| syn::Error::new(self.entry, format!("missing field `{name}`")))
    }

    fn wrong_kind(field: &Field, expected: &str) -> syn::Error {
        syn::Error::new(
            field.name.span(),
            format!(
                "field `{}` expects {expected}, found {}",
                field.name,
                field.value.kind()
            ),
        )
    }

    fn string(field: Field) -> syn::Result<LitStr> {
        match field.value {
            Value::Str(lit) => Ok(lit),
            _ => Err(Self::wrong_kind(&field, "a string")),
        }
    }

    fn optional_str(&mut self, name: &str) -> syn::Result<Option<LitStr>> {
        self.take(name).map(Self::string).transpose()
    }

    fn url(&mut self, name: &str) -> syn::Result<LitStr> {
        let lit = Self::string(self.required(name)?)?;
        check_url(&lit)?;
        Ok(lit)
    }

    fn path(&mut self, name: &str) -> syn::Result<LitStr> {
        let lit = Self::string(self.required(name)?)?;
        check_path(&lit)?;
        Ok(lit)
    }

    fn optional_path(&mut self, name: &str) -> syn::Result<TokenStream> {
        match self.optional_str(name)? {
            None => Ok(quote!(::core::option::Option::None)),
            Some(lit) => {
                check_path(&lit)?;
                Ok(quote!(::core::option::Option::Some(#lit)))
            }
        }
    }

    fn bool(&mut self, name: &str, default: bool) -> syn::Result<bool> {
        match self.take(name) {
            None => Ok(default),
            Some(Field {
                value: Value::Bool(lit),
                ..
            }) => Ok(lit.value),
            Some(field) => Err(Self::wrong_kind(&field, "a boolean")),
        }
    }

    fn priority(&mut self, name: &str) -> syn::Result<u16> {
        let field = self.required(name)?;
        let Value::Int(lit) = &field.value else {
            return Err(Self::wrong_kind(&field, "an integer"));
        };
        match lit.base10_parse::<u16>() {
            Ok(priority) if priority <= MAX_PRIORITY => Ok(priority),
            _ => Err(syn::Error::new(
                lit.span(),
                format!("priority must be within 0..={MAX_PRIORITY}"),
            )),
        }
    }

    fn list(&mut self, name: &str) -> syn::Result<Vec<LitStr>> {
        match self.take(name) {
            None => Ok(Vec::new()),
            Some(Field {
                value: Value::List(items),
                ..
            }) => Ok(items),
            Some(field) => Err(Self::wrong_kind(&field, "a list of strings")),
        }
    }

    fn paths(&mut self, name: &str) -> syn::Result<Vec<LitStr>> {
        let items = self.list(name)?;
        items.iter().try_for_each(check_path)?;
        Ok(items)
    }

    fn map(&mut self, name: &str) -> syn::Result<Vec<TokenStream>> {
        match self.take(name) {
            None => Ok(Vec::new()),
            Some(Field {
                value: Value::Map(pairs),
                ..
            }) => Ok(pairs
                .into_iter()
                .map(|(key, value)| quote!((#key, #value)))
                .collect()),
            Some(field) => Err(Self::wrong_kind(&field, "a map of strings")),
        }
    }

    fn block(&mut self, name: &str) -> syn::Result<Option<(Vec<Field>, Span)>> {
        match self.take(name) {
            None => Ok(None),
            Some(Field {
                name,
                value: Value::Block(fields),
            }) => Ok(Some((fields, name.span()))),
            Some(field) => Err(Self::wrong_kind(&field, "a block `{ ... }`")),
        }
    }

    fn finish(self) -> syn::Result<()> {
        match self.fields.first() {
            None => Ok(()),
            Some(field) => Err(syn::Error::new(
                field.name.span(),
                format!("unknown field `{}`", field.name),
            )),
        }
    }
}

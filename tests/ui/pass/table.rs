storage_macros::seed_table! {
    proxy "localhost" {
        target_url: "http://127.0.0.1:9000",
        enable_https: false,
        auth_excluded_paths: ["/token", "/.well-known/"],
        resource {
            endpoint: "/",
            scopes: ["mcp"],
            server_info: { "name": "Gateway" },
        },
    }
    proxy "api.example.com" { target_url: "https://backend:8443/base" }
    route "token" { path: "/token", priority: 95, url: "http://api:9000" }
    route "top" { path: "/top", priority: 999, url: "http://api:9000", description: "max" }
}

fn main() {
    assert_eq!(DEFAULT_PROXIES.len(), 2);
    assert_eq!(DEFAULT_ROUTES[1].priority, 999);
    assert_eq!(DEFAULT_PROXIES[0].resource.as_ref().unwrap().scopes, ["mcp"]);
    assert!(DEFAULT_PROXIES[1].enable_https);
}

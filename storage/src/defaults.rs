//! The default proxies and routes every store must hold, declared once.
//!
//! `seed_table!` checks this table at compile time (duplicate ids, priorities, paths, URLs,
//! unknown fields) and expands it into `DEFAULT_PROXIES` and `DEFAULT_ROUTES`.

storage_macros::seed_table! {
    proxy "localhost" {
        target_url: "http://127.0.0.1:9000",
        enable_http: true,
        enable_https: false,
        preserve_host_header: false,
        auth_enabled: false,
        // Served without a token, or OAuth cannot work: `/token` must be reachable to refresh.
        auth_excluded_paths: [
            "/token",
            "/device/",
            "/authorize",
            "/callback",
            "/jwks",
            "/.well-known/",
            "/register",
            "/health",
            "/revoke",
            "/introspect",
        ],
        resource {
            endpoint: "/",
            scopes: ["admin", "user", "mcp"],
            versions: ["2025-06-18", "2024-11-05"],
            bearer_methods: ["header"],
            documentation_suffix: "/docs",
            server_info: { "name": "OAuth Gateway", "version": "1.0.0" },
            custom_metadata: { "gateway": "localhost" },
        },
    }

    route "acme-challenge" {
        path: "/.well-known/acme-challenge/",
        priority: 100,
        url: "http://api:9000",
        description: "ACME HTTP-01 challenges",
    }
    route "oauth-protected-resource" {
        path: "/.well-known/oauth-protected-resource",
        priority: 100,
        url: "http://api:9000",
        description: "OAuth protected resource metadata",
    }
    route "oauth-authorization-server" {
        path: "/.well-known/oauth-authorization-server",
        priority: 95,
        url: "http://api:9000",
        description: "OAuth authorization server metadata",
    }
    route "authorize" {
        path: "/authorize",
        priority: 95,
        url: "http://api:9000",
        description: "OAuth authorization endpoint",
    }
    route "token" {
        path: "/token",
        priority: 95,
        url: "http://api:9000",
        description: "OAuth token endpoint",
    }
    route "callback" {
        path: "/callback",
        priority: 95,
        url: "http://api:9000",
        description: "OAuth callback",
    }
    route "device-code" {
        path: "/device/code",
        priority: 95,
        url: "http://api:9000",
        description: "Device authorization endpoint",
    }
    route "device-token" {
        path: "/device/token",
        priority: 95,
        url: "http://api:9000",
        description: "Device token endpoint",
    }
    route "register" {
        path: "/register",
        priority: 95,
        url: "http://api:9000",
        description: "Dynamic client registration",
    }
    route "verify" {
        path: "/verify",
        priority: 95,
        url: "http://api:9000",
        description: "Token verification",
    }
    route "jwks" {
        path: "/jwks",
        priority: 95,
        url: "http://api:9000",
        description: "JSON Web Key Set",
    }
    route "revoke" {
        path: "/revoke",
        priority: 95,
        url: "http://api:9000",
        description: "Token revocation",
    }
    route "introspect" {
        path: "/introspect",
        priority: 95,
        url: "http://api:9000",
        description: "Token introspection",
    }
}

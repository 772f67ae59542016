storage_macros::seed_table! {
    route "token" { path: "/token", priority: 95, url: "http://api:9000" }
    route "token" { path: "/token2", priority: 95, url: "http://api:9000" }
}

fn main() {}

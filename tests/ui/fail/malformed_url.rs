storage_macros::seed_table! {
    route "token" { path: "/token", priority: 95, url: "htp://api:9000" }
}

fn main() {}

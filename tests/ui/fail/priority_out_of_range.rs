storage_macros::seed_table! {
    route "token" { path: "/token", priority: 1000, url: "http://api:9000" }
}

fn main() {}

storage_macros::seed_table! {
    route "token" { path: "/token", url: "http://api:9000" }
}

fn main() {}

storage_macros::seed_table! {
    proxy "localhost" { target_url: "http://127.0.0.1:9000", auth_enabled: "no" }
}

fn main() {}

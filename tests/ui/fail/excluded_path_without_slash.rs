storage_macros::seed_table! {
    proxy "localhost" {
        target_url: "http://127.0.0.1:9000",
        auth_excluded_paths: ["/token", "authorize"],
    }
}

fn main() {}

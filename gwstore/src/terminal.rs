//! What a person at a terminal sees: colour and progress only on a terminal (and colour not
//! under `NO_COLOR` or `TERM=dumb`), tables that line up, errors that say what to do next.
//! Scripts get plain text.

use std::io::{BufRead, IsTerminal, Write};

/// Whether a stream that `is_terminal` gets colour: not under `NO_COLOR` (any value but
/// empty, see no-color.org) or on a `TERM=dumb` terminal.
fn coloured(is_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    is_terminal && !no_color && !dumb
}

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `text` in `colour` (an ANSI SGR code) when stdout is a terminal, else as it is.
pub fn paint(text: &str, colour: &str) -> String {
    if coloured(std::io::stdout().is_terminal()) {
        format!("\x1b[{colour}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Red.
pub const BAD: &str = "31";
/// Yellow.
pub const WARN: &str = "33";
/// Green.
pub const GOOD: &str = "32";

/// An error for stderr.
pub fn error_line(error: &str) -> String {
    let prefix = if coloured(std::io::stderr().is_terminal()) {
        "\x1b[31merror:\x1b[0m"
    } else {
        "error:"
    };
    format!("{prefix} {error}")
}

/// A progress bar over `steps` steps, drawn only when stderr is a terminal.
pub fn progress(steps: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(steps), target);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    bar
}

/// A spinner saying `message` while a step of unknown length runs, drawn only when stderr
/// is a terminal.
pub fn spinner(message: &'static str) -> ProgressBar {
    let bar = progress(0);
    bar.set_length(0);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// `1 finding`, `2 findings`: `n` with the word that fits it.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Rows as a table with a header, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(
        rows.iter()
            .map(|row| line(row.iter().map(String::as_str).collect())),
    );
    out.join("\n")
}

/// Whether the operator, asked to confirm `action`, typed `word`; refused (an error naming
/// `--yes`) without a terminal to ask on.
pub fn confirmed(action: &str, word: &str) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "refusing to {action} without confirmation: pass --yes"
        ));
    }
    print!("{action}: type `{word}` to go on: ");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    if answer.trim() == word {
        Ok(true)
    } else {
        println!("nothing done");
        Ok(false)
    }
}

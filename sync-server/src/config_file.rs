//! `--config xuncha.toml`: every setting of every command from a file, for a deployment that
//! keeps its settings in one place. The keys are the long flags with `_` for `-`
//! (`database_url = "postgres://…"`, `photos = "s3://bucket/prefix"`, `max_clock_skew_mins = 5`,
//! `behind_tls = true`); a flag on the command line wins over its `XUNCHA_…` variable, which wins
//! over the file. A key no command knows, or a value that is not a string, number or boolean, is
//! an error at start naming the key and the file.
//!
//! The file's settings become command-line flags before the command line is read, so one parser
//! checks every setting the same way whatever its source.

use std::ffi::OsString;
use std::path::Path;

/// `args` with the settings of the `--config` file (or of `XUNCHA_CONFIG`) added as flags of the
/// command, where neither the command line nor the environment gives them.
pub fn expand(args: Vec<OsString>, cli: &clap::Command) -> Result<Vec<OsString>, String> {
    let Some(sub_at) = args
        .iter()
        .skip(1)
        .position(|a| !a.to_string_lossy().starts_with('-'))
        .map(|i| i + 1)
    else {
        return Ok(args);
    };
    let sub_name = args[sub_at].to_string_lossy().to_string();
    let Some(sub) = cli.find_subcommand(&sub_name) else {
        return Ok(args);
    };
    let path = config_path(&args[sub_at + 1..]).or_else(|| std::env::var_os("XUNCHA_CONFIG"));
    let Some(path) = path else { return Ok(args) };
    let path = Path::new(&path);
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read the settings file: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: not a TOML file: {e}", path.display()))?;
    let given: Vec<String> = args[sub_at + 1..]
        .iter()
        .map(|a| a.to_string_lossy().to_string())
        .collect();
    let mut extra: Vec<OsString> = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let Some(arg) = sub
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
        else {
            // Another command's setting (a shared file): not this command's business.
            let known = cli.get_subcommands().any(|c| {
                c.get_arguments()
                    .any(|a| a.get_long() == Some(long.as_str()))
            });
            if known {
                continue;
            }
            return Err(format!(
                "{}: unknown setting '{key}' (see `xuncha-server {sub_name} --help`)",
                path.display()
            ));
        };
        let flag = format!("--{long}");
        if given
            .iter()
            .any(|g| g == &flag || g.starts_with(&format!("{flag}=")))
        {
            continue;
        }
        if arg
            .get_env()
            .is_some_and(|env| std::env::var_os(env).is_some())
        {
            continue;
        }
        match value {
            toml::Value::Boolean(true) => extra.push(flag.into()),
            toml::Value::Boolean(false) => {}
            toml::Value::String(s) => extra.push(format!("{flag}={s}").into()),
            toml::Value::Integer(n) => extra.push(format!("{flag}={n}").into()),
            toml::Value::Float(f) => extra.push(format!("{flag}={f}").into()),
            _ => {
                return Err(format!(
                    "{}: setting '{key}' must be a string, number or boolean",
                    path.display()
                ));
            }
        }
    }
    let mut out = args;
    let tail = out.split_off(sub_at + 1);
    out.extend(extra);
    out.extend(tail);
    Ok(out)
}

/// The value of `--config PATH` or `--config=PATH` among a command's arguments.
fn config_path(args: &[OsString]) -> Option<OsString> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--config" {
            return it.next().cloned();
        }
        if let Some(v) = s.strip_prefix("--config=") {
            return Some(v.into());
        }
    }
    None
}

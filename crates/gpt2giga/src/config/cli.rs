//! The command line: a clap command generated from the settings table, and
//! the raw values it yields.

use std::collections::HashMap;

use clap::{Arg, ArgAction, Command};
use serde_json::{Map, Value};

use super::ConfigError;
use super::spec::{
    self, DEMO_ENV, DEMO_FLAG, ENV_PATH_FLAG, FIELDS, FieldSpec, Group, HEADING_GENERAL, HEADINGS,
    Kind,
};

const ABOUT: &str = "OpenAI- and Anthropic-compatible proxy for Sber's GigaChat";

const AFTER_HELP: &str = "\
Every --proxy.* flag has a GPT2GIGA_* variable and every --gigachat.* flag a GIGACHAT_* variable \
(names are case-insensitive). Precedence: command line > environment > .env file > defaults. \
Group flags take JSON objects with snake_case keys, e.g. --proxy '{\"port\": 8090, \"pass_model\": true}'; \
a dotted flag beats the same key in the group JSON. Booleans accept true/false, yes/no, on/off, 1/0; \
a bare boolean flag means true. Lists accept a JSON array or a comma-separated list.";

/// Build the `gpt2giga` command (used for parsing and `--help`).
pub fn command() -> Command {
    let mut cmd = Command::new("gpt2giga")
        .version(env!("CARGO_PKG_VERSION"))
        .about(ABOUT)
        .after_help(AFTER_HELP)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .next_line_help(true)
        .max_term_width(110);

    cmd = cmd
        .arg(
            Arg::new(ENV_PATH_FLAG)
                .long(ENV_PATH_FLAG)
                .value_name("PATH")
                .action(ArgAction::Append)
                .help("Read variables from this .env file [default: .env in the current directory]")
                .help_heading(HEADING_GENERAL),
        )
        .arg(
            bool_arg(Arg::new(DEMO_FLAG).long(DEMO_FLAG))
                .help(format!(
                    "Serve from the built-in GigaChat emulator instead of the real API [env: {DEMO_ENV}] [default: false]"
                ))
                .help_heading(HEADING_GENERAL),
        )
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Print help")
                .help_heading(HEADING_GENERAL),
        )
        .arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("Print version")
                .help_heading(HEADING_GENERAL),
        );

    for heading in HEADINGS {
        for group in [Group::Proxy, Group::GigaChat] {
            if *heading == group_heading(group) {
                cmd = cmd.arg(group_arg(group));
            }
        }
        for f in FIELDS.iter().filter(|f| f.heading == *heading) {
            cmd = cmd.arg(field_arg(f));
        }
    }
    cmd
}

fn group_heading(group: Group) -> &'static str {
    match group {
        Group::Proxy => spec::HEADING_PROXY,
        Group::GigaChat => spec::HEADING_GIGACHAT,
    }
}

fn group_arg(group: Group) -> Arg {
    let name = group.name();
    Arg::new(name)
        .long(name)
        .value_name("JSON")
        .num_args(0..=1)
        .default_missing_value("{}")
        .action(ArgAction::Append)
        .help(format!(
            "Set several {name} settings from a JSON object with snake_case keys [default: {{}}]"
        ))
        .help_heading(group_heading(group))
}

fn bool_arg(arg: Arg) -> Arg {
    arg.value_name("BOOL")
        .num_args(0..=1)
        .default_missing_value("true")
        .action(ArgAction::Append)
}

fn field_arg(f: &FieldSpec) -> Arg {
    let arg = Arg::new(f.long()).long(f.long()).help_heading(f.heading);
    let arg = match f.kind {
        Kind::Bool => bool_arg(arg),
        Kind::Value | Kind::List => arg
            .value_name(f.value_name)
            .num_args(1)
            .allow_negative_numbers(true)
            .action(ArgAction::Append),
    };
    let default = match f.default {
        Some(d) => format!(" [default: {d}]"),
        None => String::new(),
    };
    arg.help(format!("{} [env: {}]{default}", f.help, f.env_var()))
}

/// What the command line said, before parsing the values.
#[derive(Debug, Default)]
pub(crate) struct CliValues {
    /// Dotted flags: field → every occurrence, in order.
    pub dotted: HashMap<(Group, &'static str), Vec<String>>,
    /// Group JSON (last `--proxy` / `--gigachat` wins, like pydantic-settings):
    /// field → (key as written, value).
    pub groups: HashMap<(Group, &'static str), (String, Value)>,
    /// `--env-path` (last occurrence).
    pub env_path: Option<String>,
    /// `--demo` (last occurrence).
    pub demo: Option<String>,
}

/// Parse the arguments (`args[0]` is the program name).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<CliValues, ConfigError> {
    let matches = command().try_get_matches_from(args)?;
    let last = |id: &str| -> Option<String> {
        matches
            .get_many::<String>(id)
            .and_then(|mut values| values.next_back().cloned())
    };

    let mut out = CliValues {
        env_path: last(ENV_PATH_FLAG),
        demo: last(DEMO_FLAG),
        ..CliValues::default()
    };
    for f in FIELDS {
        if let Some(values) = matches.get_many::<String>(&f.long()) {
            out.dotted
                .insert((f.group, f.name), values.cloned().collect());
        }
    }
    for group in [Group::Proxy, Group::GigaChat] {
        if let Some(json) = last(group.name()) {
            for (key, value) in group_json(group, &json)? {
                let field = find_key(group, &key)?;
                out.groups.insert((group, field.name), (key, value));
            }
        }
    }
    Ok(out)
}

fn group_json(group: Group, text: &str) -> Result<Map<String, Value>, ConfigError> {
    let flag = format!("--{}", group.name());
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ConfigError::InvalidJson {
            flag,
            message: format!("expected a JSON object, got {other}"),
        }),
        Err(e) => Err(ConfigError::InvalidJson {
            flag,
            message: e.to_string(),
        }),
    }
}

/// Group-JSON keys are snake_case field names, matched case-insensitively
/// (kebab-case is accepted too).
fn find_key(group: Group, key: &str) -> Result<&'static FieldSpec, ConfigError> {
    let norm = key.trim().to_ascii_lowercase().replace('-', "_");
    spec::find(group, &norm).ok_or_else(|| ConfigError::UnknownField {
        flag: format!("--{}", group.name()),
        field: key.to_string(),
        known: FIELDS
            .iter()
            .filter(|f| f.group == group)
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        std::iter::once("gpt2giga")
            .chain(a.iter().copied())
            .map(String::from)
            .collect()
    }

    #[test]
    fn command_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn repeated_values_are_kept_in_order() {
        let v = parse(args(&[
            "--proxy.port",
            "1",
            "--proxy.port=2",
            "--proxy.cors-allow-origins",
            "a",
            "--proxy.cors-allow-origins",
            "b,c",
        ]))
        .unwrap();
        assert_eq!(v.dotted[&(Group::Proxy, "port")], ["1", "2"]);
        assert_eq!(
            v.dotted[&(Group::Proxy, "cors_allow_origins")],
            ["a", "b,c"]
        );
    }

    #[test]
    fn bare_booleans_mean_true() {
        let v = parse(args(&["--proxy.use-https", "--proxy.port", "1", "--demo"])).unwrap();
        assert_eq!(v.dotted[&(Group::Proxy, "use_https")], ["true"]);
        assert_eq!(v.demo.as_deref(), Some("true"));
        let v = parse(args(&["--proxy.use-https", "false", "--demo=no"])).unwrap();
        assert_eq!(v.dotted[&(Group::Proxy, "use_https")], ["false"]);
        assert_eq!(v.demo.as_deref(), Some("no"));
    }

    #[test]
    fn negative_numbers_reach_the_validator() {
        let v = parse(args(&["--gigachat.timeout", "-1"])).unwrap();
        assert_eq!(v.dotted[&(Group::GigaChat, "timeout")], ["-1"]);
    }

    #[test]
    fn group_json_keys() {
        let v = parse(args(&[
            "--proxy",
            r#"{"PORT": 1, "use-https": true}"#,
            "--gigachat",
            r#"{"model": "GigaChat-2-Max"}"#,
        ]))
        .unwrap();
        assert_eq!(v.groups[&(Group::Proxy, "port")].1, Value::from(1));
        assert_eq!(v.groups[&(Group::Proxy, "use_https")].0, "use-https");
        assert_eq!(
            v.groups[&(Group::GigaChat, "model")].1,
            Value::from("GigaChat-2-Max")
        );
        let e = parse(args(&["--proxy", "[1]"])).unwrap_err().to_string();
        assert!(e.contains("invalid JSON in --proxy"), "{e}");
        let e = parse(args(&["--gigachat", r#"{"bogus": 1}"#]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field \"bogus\" in --gigachat"), "{e}");
    }

    #[test]
    fn help_is_grouped() {
        let help = command().render_help().to_string();
        for heading in HEADINGS {
            assert!(help.contains(&format!("{heading}:")), "{heading}\n{help}");
        }
        assert!(
            help.contains("[env: GPT2GIGA_PORT] [default: 8090]"),
            "{help}"
        );
    }
}

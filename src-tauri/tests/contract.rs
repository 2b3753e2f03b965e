//! The one list of commands and the one definition of a final job state, carried to every
//! place that needs them. The commands are read by `build.rs` from `tauri::generate_handler!`
//! in `src/lib.rs`; this test fails when a capability file or the UI's typed wrappers drift
//! from that list, and writes `gen/ipc/contract.ts`, which CI checks is committed current:
//! the `Command` type, `CommandArgs` and `CommandResult` (each command's arguments and answer,
//! read from its Rust signature, so `svelte-check` fails a wrapper that sends or expects
//! anything else), and `FINAL_STATES` from `JobState::is_final`.

use std::collections::BTreeSet;

use serde_json::Value;
use tidesync_app_lib::dto::JobStateDto;
use tidesync_engine::JobState;

/// Every command, from `build.rs`.
fn commands() -> Vec<&'static str> {
    env!("TIDESYNC_COMMANDS").split(',').collect()
}

/// Commands only the E2E build registers and grants.
fn is_debug(command: &str) -> bool {
    command.starts_with("debug_")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The `allow-…` permissions a capability file grants.
fn allowed(path: &str) -> BTreeSet<String> {
    let capability: Value = serde_json::from_str(&read(path)).unwrap();
    capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|p| p.starts_with("allow-"))
        .map(str::to_owned)
        .collect()
}

fn permission(command: &str) -> String {
    format!("allow-{}", command.replace('_', "-"))
}

/// Every job state; the match stops compiling when a state is added without it.
fn all_states() -> Vec<JobState> {
    let all = [
        JobState::Queued,
        JobState::Running,
        JobState::Suspended,
        JobState::Paused,
        JobState::Interrupted,
        JobState::Completed,
        JobState::Cancelled,
        JobState::Failed,
    ];
    for state in all {
        match state {
            JobState::Queued
            | JobState::Running
            | JobState::Suspended
            | JobState::Paused
            | JobState::Interrupted
            | JobState::Completed
            | JobState::Cancelled
            | JobState::Failed => {}
        }
    }
    all.to_vec()
}

fn quoted(value: impl serde::Serialize) -> String {
    serde_json::to_string(&value).unwrap()
}

#[test]
fn every_command_is_granted_to_the_window_that_may_call_it_and_nothing_else() {
    let (debug, own): (Vec<_>, Vec<_>) = commands().into_iter().partition(|c| is_debug(c));
    let main: BTreeSet<String> = own.iter().map(|c| permission(c)).collect();
    let e2e: BTreeSet<String> = debug.iter().map(|c| permission(c)).collect();
    assert_eq!(allowed("capabilities/main.json"), main);
    assert_eq!(allowed("capabilities/e2e/debug-lifecycle.json"), e2e);
}

#[test]
fn the_ui_has_a_typed_wrapper_for_every_command() {
    let wrappers = read("../src/lib/ipc/index.ts");
    for command in commands() {
        assert!(
            wrappers.contains(&quoted(command)),
            "src/lib/ipc/index.ts has no wrapper calling \"{command}\""
        );
    }
    assert!(
        wrappers.contains(
            "call<C extends Command>(command: C, ...[args]: ArgsOf<C>): Promise<CommandResult[C]>"
        ),
        "the wrappers take only the generated command names, arguments and answers"
    );
}

/// A command's signature as written in `src/commands/`.
struct Signature {
    name: String,
    /// (name, Rust type) of each argument the webview sends.
    args: Vec<(String, String)>,
    /// The Rust type of its answer (inside `Result<…, Error>`).
    answer: String,
}

/// Splits `text` at the commas outside `<…>` and `(…)`.
fn top_level(text: &str) -> Vec<String> {
    let (mut parts, mut depth, mut current) = (Vec::new(), 0i32, String::new());
    for c in text.chars() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Arguments Tauri fills in itself rather than taking from the webview.
fn is_injected(ty: &str) -> bool {
    ["State<", "AppHandle<", "Window<", "WebviewWindow<"]
        .iter()
        .any(|t| ty.starts_with(t))
}

/// Every `#[tauri::command]` in the command modules.
fn signatures() -> Vec<Signature> {
    let folder = format!("{}/src/commands", env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        // The attribute on a line of its own (a doc comment may name it too).
        for command in source.split("\n#[tauri::command]").skip(1) {
            let after_fn = &command[command.find("fn ").unwrap() + 3..];
            let name_end = after_fn.find(['(', '<']).unwrap();
            let name = after_fn[..name_end].to_owned();
            // The argument list: from the `(` after the name to its matching `)`.
            let open = after_fn.find('(').unwrap();
            let mut depth = 0;
            let close = after_fn[open..]
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| open + i)
                .unwrap();
            let args = top_level(&after_fn[open + 1..close])
                .into_iter()
                .filter_map(|arg| {
                    let (name, ty) = arg.split_once(':')?;
                    let ty = ty.trim().to_owned();
                    (!is_injected(&ty)).then(|| (name.trim().to_owned(), ty))
                })
                .collect();
            let rest = &after_fn[close + 1..];
            let body = [rest.find('{'), rest.find(" where")]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(rest.len());
            let answer = match rest[..body].trim().strip_prefix("->") {
                None => "()".to_owned(),
                Some(ty) => {
                    let ty = ty.split_whitespace().collect::<Vec<_>>().join(" ");
                    match ty.strip_prefix("Result<").and_then(|t| t.strip_suffix('>')) {
                        Some(inner) => top_level(inner).remove(0),
                        None => ty,
                    }
                }
            };
            found.push(Signature { name, args, answer });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// `snake_case` as Tauri sends it: `camelCase`.
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// A Rust type as the TypeScript the webview sees; names of generated types go to `imports`.
fn typescript(ty: &str, imports: &mut BTreeSet<String>) -> String {
    let ty = ty.trim();
    let inner = |prefix: &str| {
        ty.strip_prefix(prefix)
            .and_then(|t| t.strip_suffix('>'))
            .map(str::to_owned)
    };
    if let Some(t) = inner("Option<") {
        return format!("{} | null", typescript(&t, imports));
    }
    if let Some(t) = inner("Vec<") {
        let element = typescript(&t, imports);
        return if element.contains(' ') {
            format!("({element})[]")
        } else {
            format!("{element}[]")
        };
    }
    if let Some(t) = inner("Channel<") {
        return format!("Channel<{}>", typescript(&t, imports));
    }
    match ty {
        "()" => "void".to_owned(),
        "String" | "&str" => "string".to_owned(),
        "bool" => "boolean".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "usize" | "i32" | "i64" | "f64" => "number".to_owned(),
        name => {
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric()),
                "no TypeScript for the Rust type {name}"
            );
            imports.insert(name.to_owned());
            name.to_owned()
        }
    }
}

/// `CommandArgs` and `CommandResult`, and what they import.
fn command_types() -> (String, String, BTreeSet<String>) {
    let mut imports = BTreeSet::new();
    let (mut args, mut answers) = (String::new(), String::new());
    for signature in signatures() {
        let fields: Vec<String> = signature
            .args
            .iter()
            .map(|(name, ty)| match ty.strip_prefix("Option<") {
                // An absent key is None too.
                Some(_) => format!("{}?: {}", camel(name), typescript(ty, &mut imports)),
                None => format!("{}: {}", camel(name), typescript(ty, &mut imports)),
            })
            .collect();
        let fields = match fields.is_empty() {
            true => "Record<string, never>".to_owned(),
            false => format!("{{ {} }}", fields.join("; ")),
        };
        args.push_str(&format!("  {}: {fields};\n", signature.name));
        answers.push_str(&format!(
            "  {}: {};\n",
            signature.name,
            typescript(&signature.answer, &mut imports)
        ));
    }
    (args, answers, imports)
}

#[test]
fn every_command_has_its_signature_read() {
    let read: BTreeSet<String> = signatures().into_iter().map(|s| s.name).collect();
    let registered: BTreeSet<String> = commands().into_iter().map(str::to_owned).collect();
    assert_eq!(read, registered);
    let start = signatures()
        .into_iter()
        .find(|s| s.name == "start_sync")
        .unwrap();
    assert_eq!(
        start.args,
        [
            ("pair_id".to_owned(), "PairId".to_owned()),
            ("on_event".to_owned(), "Channel<SyncEvent>".to_owned())
        ]
    );
    assert_eq!(start.answer, "JobId");
}

#[test]
fn the_generated_contract_is_written_from_the_rust_sources() {
    let names: Vec<String> = commands().into_iter().map(quoted).collect();
    let finals: Vec<String> = all_states()
        .into_iter()
        .filter(|s| s.is_final())
        .map(|s| quoted(JobStateDto::from(s)))
        .collect();
    let (args, answers, mut imports) = command_types();
    imports.insert("JobStateDto".to_owned());
    let imports: String = imports
        .iter()
        .map(|t| format!("import type {{ {t} }} from \"./{t}\";\n"))
        .collect();
    let contract = format!(
        "// Generated by src-tauri/tests/contract.rs from the Rust sources: do not edit.\n\
         import type {{ Channel }} from \"@tauri-apps/api/core\";\n\
         {imports}\
         \n\
         /** Every command the app registers (`tauri::generate_handler!` in src-tauri/src/lib.rs). */\n\
         export type Command = {};\n\
         \n\
         /** What each command takes, as its Rust signature says (camelCase, as Tauri reads it). */\n\
         export type CommandArgs = {{\n{args}}};\n\
         \n\
         /** What each command answers, as its Rust signature says. */\n\
         export type CommandResult = {{\n{answers}}};\n\
         \n\
         /** The states after which a job never runs again (`JobState::is_final`). */\n\
         export const FINAL_STATES: readonly JobStateDto[] = [{}];\n",
        names.join(" | "),
        finals.join(", ")
    );
    let path = format!("{}/../gen/ipc/contract.ts", env!("CARGO_MANIFEST_DIR"));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(contract.as_str()) {
        std::fs::write(&path, &contract).unwrap();
    }
    assert!(finals.contains(&quoted(JobStateDto::Completed)));
}

//! One item per name, whatever its Unicode form.
//!
//! macOS and some Android file managers write names decomposed (NFD: `e` + a combining
//! accent), most servers and other systems composed (NFC: `é`). Compared as bytes, the same
//! name is two items: one side downloads a duplicate, or a server that normalizes names makes
//! an upload "appear" under another name on every run. So the survey compares names in NFC:
//! a local name whose NFC form equals a server name (or a name the journal agreed on) *is*
//! that item, under the server's spelling, which is the key the plan, the journal and the
//! server use. The local spelling is kept as an alias ([`Matched::aliases`]), through which
//! every local read and write goes (`Context::local_path`), so the user's file is never
//! renamed. A local name with no counterpart keeps its own spelling, and is uploaded as is.

use std::collections::{BTreeMap, HashMap};

use super::letter_case::{CaseMatch, Twins};
use super::shared::is_below;
use crate::journal::Agreed;
use crate::model::{FileError, LocalState, RemoteState};
use crate::names::{fold_name, nfc};

/// The local side under the names the plan uses.
#[derive(Debug, Default)]
pub(super) struct Matched {
    /// The scan's items, by key.
    pub(super) local: BTreeMap<String, LocalState>,
    /// The items left out (links, unreadable), by key: they shield the server's item.
    pub(super) shields: Vec<FileError>,
    /// Key → the path locally, for every item whose spellings differ.
    pub(super) aliases: HashMap<String, String>,
    /// Local items whose name equals another's in NFC: left out, each an error.
    pub(super) clashes: Vec<FileError>,
}

/// Gives every local path (the scan's `local`, and the `shields`' paths) the key it has on
/// the server or in the journal when its NFC form matches one there, or when it is the copy
/// of one of the server's `twins`, and, on a case-insensitive volume (`case`), when it differs
/// only in case from a server name [`CaseMatch`] offers.
pub(super) fn match_names(
    local: BTreeMap<String, LocalState>,
    shields: Vec<FileError>,
    remote: &BTreeMap<String, RemoteState>,
    agreed: &BTreeMap<String, Agreed>,
    twins: &Twins,
    case: Option<&CaseMatch>,
) -> Matched {
    let all_nfc = local.keys().all(|p| nfc(p) == p.as_str())
        && shields.iter().all(|s| nfc(&s.path) == s.path.as_str())
        && remote.keys().all(|p| nfc(p) == p.as_str());
    if all_nfc && twins.copies.is_empty() && case.is_none() {
        // The common case: nothing to match, nothing to allocate.
        return Matched {
            local,
            shields,
            ..Matched::default()
        };
    }
    // The server's spelling first: the journal agreed on names the server had.
    let mut known: HashMap<String, &str> = HashMap::new();
    for path in agreed.keys().chain(remote.keys()) {
        if !twins.copies.contains_key(path) {
            known.insert(nfc(path).into_owned(), path);
        }
    }
    known.extend(
        twins
            .known
            .iter()
            .map(|(copy, twin)| (copy.clone(), twin.as_str())),
    );
    let mut keys = Keys {
        pinned: &twins.pinned,
        known,
        case,
        agreed,
        of: HashMap::new(),
    };
    let mut matched = Matched::default();
    // The actual paths left out for a clash, with everything below them.
    let mut losers: Vec<String> = Vec::new();
    // Parents sort before their children, so a folder's key is known before its files'.
    for (path, state) in local {
        if losers.iter().any(|l| is_below(&path, l)) {
            continue;
        }
        let key = keys.key(&path);
        if matched.local.contains_key(&key) {
            // Two local names, one NFC form: the one spelled as the server spells it stays.
            let holder = matched.aliases.get(&key).cloned();
            let loser = match holder {
                Some(holder) if path == key => {
                    matched.aliases.remove(&key);
                    matched.local.insert(key, state);
                    holder
                }
                _ => path,
            };
            matched.clashes.push(FileError {
                path: loser.clone(),
                message: "not synced: another item in this folder has the same name written \
                          in another Unicode form; rename one of them"
                    .into(),
            });
            losers.push(loser);
            continue;
        }
        if key != path {
            matched.aliases.insert(key.clone(), path);
        }
        matched.local.insert(key, state);
    }
    // What a displaced item held below it was matched before it lost.
    if !losers.is_empty() {
        let below: Vec<String> = matched
            .aliases
            .iter()
            .filter(|(_, actual)| losers.iter().any(|l| is_below(actual, l)))
            .map(|(key, _)| key.clone())
            .collect();
        for key in below {
            matched.aliases.remove(&key);
            matched.local.remove(&key);
        }
    }
    matched.shields = shields
        .into_iter()
        .filter(|shield| !losers.iter().any(|l| is_below(&shield.path, l)))
        .map(|mut shield| {
            shield.path = keys.key(&shield.path);
            shield
        })
        .collect();
    matched
}

/// Keys of local paths, each made from its folder's key and its own name.
struct Keys<'a> {
    /// Local paths whose key is settled (the local item of a twin group's name).
    pinned: &'a HashMap<String, String>,
    /// NFC form → the spelling the server or the journal uses.
    known: HashMap<String, &'a str>,
    /// On a case-insensitive volume: the server names a local name in other case is.
    case: Option<&'a CaseMatch>,
    agreed: &'a BTreeMap<String, Agreed>,
    /// Local path → its key, for the folders met so far.
    of: HashMap<String, String>,
}

impl Keys<'_> {
    fn key(&mut self, path: &str) -> String {
        if let Some(key) = self.of.get(path).or_else(|| self.pinned.get(path)) {
            return key.clone();
        }
        let (parent_key, name) = match path.rsplit_once('/') {
            Some((parent, name)) => (Some(self.key(parent)), name),
            None => (None, path),
        };
        let candidate = match &parent_key {
            Some(parent) => format!("{parent}/{name}"),
            None => name.to_owned(),
        };
        let by_case =
            |case: &CaseMatch, candidate: &str| case.by_fold.get(&fold_name(candidate)).cloned();
        let key = match (self.case, self.known.get(nfc(&candidate).as_ref())) {
            // An agreed name the server no longer has, where a name in other case stands that
            // is not its move: the local item is that one.
            (Some(case), _) if case.released.contains(&candidate) => {
                by_case(case, &candidate).unwrap_or(candidate)
            }
            (_, Some(spelled)) => (*spelled).to_owned(),
            // A spelling the journal knows, renamed: left for move detection.
            (Some(case), None) if !self.agreed.contains_key(&candidate) => {
                by_case(case, &candidate).unwrap_or(candidate)
            }
            _ => candidate,
        };
        self.of.insert(path.to_owned(), key.clone());
        key
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn state(is_dir: bool) -> LocalState {
        LocalState {
            is_dir,
            size: 0,
            mtime: 0,
            inode: None,
            ctime: None,
        }
    }

    /// Server items at `paths` (a name with a dot is a file).
    pub(in crate::run) fn remote(paths: &[&str]) -> BTreeMap<String, RemoteState> {
        paths
            .iter()
            .map(|p| {
                let state = RemoteState {
                    is_dir: !p.contains('.'),
                    size: 0,
                    etag: None,
                    mtime: None,
                    checksums: Vec::new(),
                    file_id: None,
                };
                ((*p).to_owned(), state)
            })
            .collect()
    }

    #[test]
    fn local_names_take_the_servers_spelling_and_twins_are_refused() {
        let local: BTreeMap<String, LocalState> = [
            ("Re\u{301}sume\u{301}", true),
            ("Re\u{301}sume\u{301}/a.txt", false),
            ("cafe\u{301}.txt", false),
            ("caf\u{e9}.txt", false),
            ("nouveaute\u{301}.txt", false),
        ]
        .into_iter()
        .map(|(p, d)| (p.to_owned(), state(d)))
        .collect();
        let shields = vec![FileError {
            path: "Re\u{301}sume\u{301}/link".into(),
            message: "a link".into(),
        }];
        let server = remote(&["R\u{e9}sum\u{e9}", "caf\u{e9}.txt"]);
        let matched = match_names(
            local,
            shields,
            &server,
            &BTreeMap::new(),
            &Twins::default(),
            None,
        );

        let keys: Vec<&str> = matched.local.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "R\u{e9}sum\u{e9}",
                "R\u{e9}sum\u{e9}/a.txt",
                "caf\u{e9}.txt",
                "nouveaute\u{301}.txt"
            ],
            "a name with no counterpart keeps its own spelling"
        );
        assert_eq!(
            matched.aliases["R\u{e9}sum\u{e9}/a.txt"],
            "Re\u{301}sume\u{301}/a.txt"
        );
        assert!(
            !matched.aliases.contains_key("caf\u{e9}.txt"),
            "the exact spelling won"
        );
        assert_eq!(matched.clashes.len(), 1);
        assert_eq!(matched.clashes[0].path, "cafe\u{301}.txt");
        assert_eq!(matched.shields[0].path, "R\u{e9}sum\u{e9}/link");
    }

    #[test]
    fn on_a_case_insensitive_volume_only_names_never_synced_match_in_another_case() {
        let local: BTreeMap<String, LocalState> = [
            ("Photos", true),
            ("Photos/IMG.JPG", false),
            ("renamed.txt", false),
            ("a (case conflict).txt", false),
        ]
        .into_iter()
        .map(|(p, d)| (p.to_owned(), state(d)))
        .collect();
        let server = remote(&["photos", "photos/img.jpg", "Renamed.txt", "a.txt", "A.txt"]);
        let agreed: BTreeMap<String, Agreed> =
            [("Renamed.txt".to_owned(), agreed_file("Renamed.txt"))].into();
        let twins = Twins {
            copies: HashMap::from([("a.txt".to_owned(), "a (case conflict).txt".to_owned())]),
            known: HashMap::from([("a (case conflict).txt".to_owned(), "a.txt".to_owned())]),
            ..Twins::default()
        };
        let case = CaseMatch {
            by_fold: server
                .keys()
                .filter(|p| !agreed.contains_key(*p) && *p != "a.txt")
                .map(|p| (fold_name(p), p.clone()))
                .collect(),
            ..CaseMatch::default()
        };
        let matched = match_names(local, Vec::new(), &server, &agreed, &twins, Some(&case));
        let keys: Vec<&str> = matched.local.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["a.txt", "photos", "photos/img.jpg", "renamed.txt"],
            "a synced name renamed in case stays itself, for move detection"
        );
        assert_eq!(matched.aliases["photos/img.jpg"], "Photos/IMG.JPG");
        assert_eq!(matched.aliases["a.txt"], "a (case conflict).txt");
    }

    fn agreed_file(path: &str) -> Agreed {
        Agreed {
            path: path.to_owned(),
            is_dir: false,
            size: 0,
            local_mtime: None,
            local_inode: None,
            file_id: None,
            etag: None,
            remote_mtime: None,
        }
    }
}

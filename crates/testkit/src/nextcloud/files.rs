//! The emulated account's files: a tree in memory with what Nextcloud keeps for each item
//! (file id, ETag, modification time, checksum), and the rules its WebDAV layer applies to
//! changes (parents must exist, ETags of every ancestor change with a change below them).
//!
//! A file's ETag is what Nextcloud's local storage computes (`Local::calculateEtag`,
//! `lib/private/Files/Storage/Local.php`): the MD5 of its modification time, inode, device and
//! size. So a write that keeps the inode (bulk upload writes in place) with the same size and
//! the same sent modification time keeps the ETag, while a `PUT` (written to a part file and
//! renamed over the target) gets a new inode and a new ETag. Folders get a fresh unique tag
//! (`Common::getETag`, `uniqid()`) on every change below them.

use std::collections::BTreeMap;

use bytes::Bytes;

/// One file or folder.
#[derive(Debug, Clone)]
pub struct Node {
    /// The file's bytes, `None` for a folder.
    pub data: Option<Bytes>,
    /// Without quotes.
    pub etag: String,
    pub file_id: u64,
    /// The inode the file's bytes live in on the server's disk; part of its ETag.
    pub inode: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// The `OC-Checksum` the last write sent, as sent (`File::put` stores it unchecked).
    pub checksum: Option<String>,
}

impl Node {
    pub fn is_folder(&self) -> bool {
        self.data.is_none()
    }

    pub fn size(&self) -> u64 {
        self.data.as_ref().map_or(0, |d| d.len() as u64)
    }
}

/// How a write reaches the server's disk, which decides whether the file keeps its inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Through a part file renamed over the target (`File::put` when the storage
    /// `needsPartFile()`, as local storage does; chunk assembly goes through it too).
    PartFile,
    /// Into the existing file (`File::putContent`, which bulk upload uses for a file that
    /// exists).
    InPlace,
}

/// The device number the emulated data folder lives on, part of every file's ETag.
const DEVICE: u64 = 2049;

/// `Local::calculateEtag`: `md5(mtime . ino . dev . size)`.
fn file_etag(mtime: i64, inode: u64, size: u64) -> String {
    use md5::Digest as _;
    let digest = md5::Md5::digest(format!("{mtime}{inode}{DEVICE}{size}"));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a change was refused, as the HTTP status Nextcloud answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 404: nothing at the path.
    NotFound,
    /// 409: the parent folder does not exist.
    NoParent,
    /// 405: something is already there (MKCOL), or a folder where a file was meant.
    Exists,
    /// 412: `Overwrite: F` and the destination exists.
    Precondition,
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::NotFound => 404,
            Refusal::NoParent => 409,
            Refusal::Exists => 405,
            Refusal::Precondition => 412,
        }
    }
}

/// The tree. Paths are relative to the account's root, without leading or trailing `/`; the
/// root is `""`.
#[derive(Debug)]
pub struct Files {
    nodes: BTreeMap<String, Node>,
    next_id: u64,
    next_tag: u64,
    /// Never reused: a real disk may hand a freed inode to a later file, which only makes
    /// equal ETags likelier; the emulation keeps the one case it must, the in-place write.
    next_inode: u64,
}

impl Default for Files {
    fn default() -> Self {
        let mut files = Files {
            nodes: BTreeMap::new(),
            next_id: 1,
            next_tag: 1,
            next_inode: 1,
        };
        let root = files.node(None, 0);
        files.nodes.insert(String::new(), root);
        files
    }
}

/// The folder that holds `path` (`""` for an item in the root).
pub fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// Whether `path` is `folder` or below it.
fn is_within(path: &str, folder: &str) -> bool {
    folder.is_empty() || path == folder || path.starts_with(&format!("{folder}/"))
}

impl Files {
    fn node(&mut self, data: Option<Bytes>, mtime: i64) -> Node {
        let file_id = self.next_id;
        self.next_id += 1;
        let inode = self.fresh_inode();
        let etag = match &data {
            Some(bytes) => file_etag(mtime, inode, bytes.len() as u64),
            None => self.fresh_tag(),
        };
        // Only a checksum a client sent with its `PUT` is kept (`File::put` sets it from
        // `OC-Checksum`, or clears it): a file written otherwise has none.
        Node {
            data,
            etag,
            file_id,
            inode,
            mtime,
            checksum: None,
        }
    }

    fn fresh_inode(&mut self) -> u64 {
        self.next_inode += 1;
        self.next_inode
    }

    fn fresh_tag(&mut self) -> String {
        self.next_tag += 1;
        format!("{:016x}", self.next_tag.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Every item below `folder`, at any depth: a range of the sorted paths, so that sizing
    /// every folder of a listing costs the tree's size times its depth, not its size squared.
    pub fn descendants<'a>(
        &'a self,
        folder: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Node)> {
        use std::ops::Bound;
        // Everything below "a" sorts between "a/" and "a0" ('0' follows '/').
        let range = match folder {
            "" => (Bound::Excluded(String::new()), Bound::Unbounded),
            _ => (
                Bound::Included(format!("{folder}/")),
                Bound::Excluded(format!("{folder}0")),
            ),
        };
        self.nodes.range::<String, _>(range)
    }

    /// The items directly in `folder`.
    pub fn children<'a>(&'a self, folder: &'a str) -> impl Iterator<Item = (&'a String, &'a Node)> {
        self.descendants(folder)
            .filter(move |(p, _)| parent_of(p) == folder)
    }

    /// Every file, by path.
    pub fn all_files(&self) -> BTreeMap<String, Bytes> {
        self.nodes
            .iter()
            .filter_map(|(p, n)| n.data.clone().map(|d| (p.clone(), d)))
            .collect()
    }

    /// Bytes used by all files.
    pub fn used(&self) -> u64 {
        self.nodes.values().map(Node::size).sum()
    }

    /// Writes a file; its id stays when it replaces one, and its inode too when `how` is
    /// [`Write::InPlace`]. Returns the new node.
    pub fn write(
        &mut self,
        path: &str,
        data: Bytes,
        mtime: i64,
        checksum: Option<String>,
        how: Write,
    ) -> Result<&Node, Refusal> {
        self.parent_folder(path)?;
        let mut node = self.node(Some(data), mtime);
        if let Some(checksum) = checksum {
            node.checksum = Some(checksum);
        }
        match self.nodes.get(path) {
            Some(old) if old.is_folder() => return Err(Refusal::Exists),
            Some(old) => {
                node.file_id = old.file_id;
                if how == Write::InPlace {
                    node.inode = old.inode;
                    node.etag = file_etag(mtime, old.inode, node.size());
                }
            }
            None => {}
        }
        self.nodes.insert(path.to_owned(), node);
        self.touch_ancestors(path);
        Ok(&self.nodes[path])
    }

    /// Makes a folder whose parent exists.
    pub fn mkcol(&mut self, path: &str, mtime: i64) -> Result<(), Refusal> {
        if self.nodes.contains_key(path) {
            return Err(Refusal::Exists);
        }
        self.parent_folder(path)?;
        let node = self.node(None, mtime);
        self.nodes.insert(path.to_owned(), node);
        self.touch_ancestors(path);
        Ok(())
    }

    /// Deletes `path` and everything below it.
    pub fn delete(&mut self, path: &str) -> Result<(), Refusal> {
        if path.is_empty() || !self.nodes.contains_key(path) {
            return Err(Refusal::NotFound);
        }
        self.nodes.retain(|p, _| !is_within(p, path));
        self.touch_ancestors(path);
        Ok(())
    }

    /// Moves `from` (with everything below it) to `to`; items keep their ids and ETags.
    /// Returns whether something was replaced.
    pub fn rename(&mut self, from: &str, to: &str, overwrite: bool) -> Result<bool, Refusal> {
        if from.is_empty() || !self.nodes.contains_key(from) {
            return Err(Refusal::NotFound);
        }
        if to.is_empty() || is_within(to, from) {
            return Err(Refusal::Exists);
        }
        self.parent_folder(to)?;
        let replaced = self.nodes.contains_key(to);
        if replaced && !overwrite {
            return Err(Refusal::Precondition);
        }
        if replaced {
            self.nodes.retain(|p, _| !is_within(p, to));
        }
        let moving: Vec<String> = self
            .nodes
            .keys()
            .filter(|p| is_within(p, from))
            .cloned()
            .collect();
        for old in moving {
            let node = self.nodes.remove(&old).expect("listed just now");
            let new = format!("{to}{}", &old[from.len()..]);
            self.nodes.insert(new, node);
        }
        self.touch_ancestors(from);
        self.touch_ancestors(to);
        Ok(replaced)
    }

    fn parent_folder(&self, path: &str) -> Result<(), Refusal> {
        match self.nodes.get(parent_of(path)) {
            Some(parent) if parent.is_folder() => Ok(()),
            _ => Err(Refusal::NoParent),
        }
    }

    /// Nextcloud propagates a change to the ETag of every folder above it, which is what lets
    /// a client check a whole tree with one `Depth: 0` request.
    fn touch_ancestors(&mut self, path: &str) {
        let mut folder = path;
        loop {
            folder = parent_of(folder);
            let tag = self.fresh_tag();
            if let Some(node) = self.nodes.get_mut(folder) {
                node.etag = tag;
            }
            if folder.is_empty() {
                break;
            }
        }
    }
}

/// `SHA1:<hex>` of `data`, the form `OC-Checksum` and `oc:checksums` use.
pub fn sha1_checksum(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("SHA1:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_below_a_folder_change_its_etag_and_moves_keep_ids() {
        let mut files = Files::default();
        files.mkcol("a", 0).unwrap();
        let before = files.get("a").unwrap().etag.clone();
        let root_before = files.get("").unwrap().etag.clone();
        let id = files
            .write("a/x", Bytes::from_static(b"x"), 1, None, Write::PartFile)
            .unwrap()
            .file_id;
        assert_ne!(files.get("a").unwrap().etag, before);
        assert_ne!(files.get("").unwrap().etag, root_before);
        assert_eq!(
            files
                .write("b/x", Bytes::new(), 1, None, Write::PartFile)
                .unwrap_err(),
            Refusal::NoParent
        );
        files.mkcol("b", 0).unwrap();
        assert!(!files.rename("a/x", "b/y", false).unwrap());
        assert_eq!(files.get("b/y").unwrap().file_id, id);
        assert_eq!(files.children("b").count(), 1);
        assert_eq!(files.children("").count(), 2);
        files
            .write("a/z", Bytes::new(), 1, None, Write::PartFile)
            .unwrap();
        assert_eq!(
            files.rename("a/z", "b/y", false).unwrap_err(),
            Refusal::Precondition
        );
        files.delete("b").unwrap();
        assert!(files.get("b/y").is_none());
        assert_eq!(files.all_files().len(), 1);
    }

    #[test]
    fn a_file_etag_follows_mtime_inode_and_size_as_local_storage_computes_it() {
        let mut files = Files::default();
        let write = |files: &mut Files, data: &'static [u8], mtime, how| {
            files
                .write("f", Bytes::from_static(data), mtime, None, how)
                .unwrap()
                .etag
                .clone()
        };
        let first = write(&mut files, b"one", 100, Write::PartFile);
        assert_eq!(first, file_etag(100, files.get("f").unwrap().inode, 3));
        // Bulk upload's in-place write of other bytes of the same size at the same time: the
        // real server answers with the ETag the file already had.
        assert_eq!(write(&mut files, b"two", 100, Write::InPlace), first);
        assert_ne!(write(&mut files, b"six", 101, Write::InPlace), first);
        // A `PUT` renames a part file over the target: a new inode, a new ETag.
        let before = files.get("f").unwrap().etag.clone();
        assert_ne!(write(&mut files, b"ten", 101, Write::PartFile), before);
        // A move keeps inode and time, hence the ETag.
        let tag = files.get("f").unwrap().etag.clone();
        files.rename("f", "g", false).unwrap();
        assert_eq!(files.get("g").unwrap().etag, tag);
    }
}

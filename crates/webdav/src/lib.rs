//! WebDAV protocol client for Tidesync.

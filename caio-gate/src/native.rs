//! Names the section that holds each block found in a native binary (ELF, Mach-O, PE),
//! with the `object` crate reading section headers from the file on demand.
//!
//! This is a label for people, not a check: a block is found and judged by its bytes
//! wherever it is, and a binary whose headers do not parse simply gets no section
//! names. Only a binary that is a file of its own is looked at (the headers are read
//! with seeks, never by loading the file); members of archives are streams and get
//! none.

use std::fs::File;

use object::read::ReadCache;
use object::{Object as _, ObjectSection as _};

use super::BlockFinding;

/// Sets [`BlockFinding::section`] for each finding whose offset lies in a section's file
/// range. Mach-O sections are named `segment,section`.
pub(super) fn name_sections(file: &File, findings: &mut [BlockFinding]) {
    let cache = ReadCache::new(file);
    let Ok(object) = object::File::parse(&cache) else {
        return;
    };
    let sections: Vec<(u64, u64, String)> = object
        .sections()
        .filter_map(|section| {
            let (start, size) = section.file_range()?;
            let name = section.name().ok()?;
            let label = match section.segment_name() {
                Ok(Some(segment)) if !segment.is_empty() => format!("{segment},{name}"),
                _ => name.to_owned(),
            };
            Some((start, size, label))
        })
        .collect();
    for finding in findings {
        finding.section = sections
            .iter()
            .find(|(start, size, _)| finding.offset >= *start && finding.offset - start < *size)
            .map(|(_, _, label)| label.clone());
    }
}

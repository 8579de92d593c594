//! Opens a report the way an auditor does: in a real browser. Headless
//! Chromium loads the HTML file and prints the DOM it built, so tests check
//! what the page shows rather than the string we wrote.

use std::process::Command;

fn chromium() -> String {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return candidate.to_string();
        }
    }
    panic!(
        "headless Chromium is needed to check the HTML report: `apt-get install chromium` (scripts/test-env install does it)"
    );
}

/// The DOM Chromium renders for `html`, after checking the page needs
/// nothing from outside and that it rendered (its title is in the DOM).
pub fn rendered_dom(html: &str, expected_heading: &str) -> String {
    for attribute in ["src=", "href=", "@import", "url("] {
        assert!(
            !html.contains(attribute),
            "HTML refers outside with {attribute}"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.html");
    std::fs::write(&path, html).expect("write");
    let profile = dir.path().join("profile");
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        dom.contains(expected_heading),
        "chromium did not render the page: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    dom
}

/// The figure a summary tile shows, as text.
pub fn tile(dom: &str, figure: &str) -> String {
    let marker = format!("data-figure=\"{figure}\"><b>");
    let start = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no {figure} tile"))
        + marker.len();
    dom[start..]
        .split("</b>")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The rendered table (or its empty-state paragraph) with this id.
pub fn table<'d>(dom: &'d str, id: &str) -> &'d str {
    let marker = format!("id=\"{id}\"");
    let start = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no element #{id} in the page"));
    let rest = &dom[start..];
    let end = ["</table>", "</p>"]
        .iter()
        .filter_map(|close| rest.find(close).map(|i| i + close.len()))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The body rows of a rendered table.
pub fn rows(table: &str) -> Vec<&str> {
    table
        .split("<tr>")
        .skip(1)
        .filter(|row| !row.contains("<th>"))
        .collect()
}

//! A small `WebDriver` client for the console's browser tests: Debian's `chromedriver` driving
//! headless `chromium`. Only the commands the tests use: navigate, find, type, click, run a
//! script, read the browser's log, take a screenshot.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where chromedriver is, or `None`. In CI (`CI=true`) a missing chromedriver fails the test;
/// locally the caller may skip.
pub fn chromedriver() -> Option<PathBuf> {
    let path = std::env::var("PEKEN_CHROMEDRIVER")
        .map_or_else(|_| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "chromedriver is missing at {}: CI installs chromium and chromium-driver",
        path.display()
    );
    None
}

/// The directory screenshots and downloads of a browser test go to, under the target
/// directory.
pub fn output_dir(test: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let dir = target.join("console-screenshots").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Chromium takes only canonical paths for uploads (`tests/../target` is refused).
    std::fs::canonicalize(&dir).unwrap()
}

/// A running chromedriver with one browser session; both end when this is dropped.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    pub dir: PathBuf,
    pub downloads: PathBuf,
}

impl Browser {
    pub async fn start(driver: &Path, dir: PathBuf) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        // chromedriver answers /status once it listens: wait for that, a bounded time.
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let downloads = dir.join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        let binary =
            std::env::var("PEKEN_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         "--no-first-run", "--disable-extensions", "--lang=id"],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            },
        }}});
        let reply: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {reply}"))
            .to_owned();
        let browser = Browser {
            driver: child,
            base,
            session,
            http,
            dir,
            downloads,
        };
        browser
            .command(
                "POST",
                "/chromium/send_command",
                json!({"cmd": "Page.setDownloadBehavior", "params": {
                    "behavior": "allow", "downloadPath": browser.downloads.display().to_string()}}),
            )
            .await;
        browser
    }

    async fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let reply: Value = req.send().await.unwrap().json().await.unwrap();
        if let Some(error) = reply["value"]["error"].as_str() {
            panic!(
                "WebDriver {method} {path}: {error}: {}",
                reply["value"]["message"]
            );
        }
        reply["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({"url": url})).await;
    }

    pub async fn url(&self) -> String {
        self.command("GET", "/url", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn find(&self, css: &str) -> String {
        let found = self
            .command(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {found}"))
            .to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.command("POST", &format!("/element/{id}/clear"), json!({}))
            .await;
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await;
    }

    /// Sends keys without clearing first (a file input takes a path this way).
    pub async fn send_keys(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.command("POST", &format!("/element/{id}/click"), json!({}))
            .await;
    }

    /// Clicks what submits a form or follows a link, and waits (bounded) until the next page
    /// has replaced this one.
    pub async fn submit(&self, css: &str) {
        self.script("window.__pekenOld = true; return null;").await;
        self.click(css).await;
        let started = Instant::now();
        loop {
            let replaced = self
                .script("return document.readyState === 'complete' && !window.__pekenOld;")
                .await;
            if replaced == json!(true) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{css}: no new page"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Runs a script in the page and returns its value.
    pub async fn script(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// The text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.command("GET", &format!("/element/{id}/text"), Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The browser log since the last call: `(level, message)`.
    pub async fn log(&self) -> Vec<(String, String)> {
        self.command("POST", "/se/log", json!({"type": "browser"}))
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|e| {
                (
                    e["level"].as_str().unwrap_or_default().to_owned(),
                    e["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Saves a screenshot as `{name}.png` and checks the page as every console page must be:
    /// nothing logged at error level, every form control labelled, no script element in it.
    pub async fn check_page(&self, name: &str) {
        let shot = self.command("GET", "/screenshot", Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().unwrap())
            .unwrap();
        std::fs::write(self.dir.join(format!("{name}.png")), png).unwrap();
        let errors: Vec<_> = self
            .log()
            .await
            .into_iter()
            .filter(|(level, _)| level == "SEVERE")
            .collect();
        assert!(
            errors.is_empty(),
            "{name}: the page logged errors: {errors:?}"
        );
        let unlabelled = self
            .script(
                "return [...document.querySelectorAll(\
                   'input:not([type=hidden]):not([type=submit]), select, textarea')]\
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))\
                 .map(e => e.name || e.id || e.outerHTML);",
            )
            .await;
        assert_eq!(
            unlabelled,
            json!([]),
            "{name}: form controls without a label"
        );
        let scripts = self
            .script("return document.querySelectorAll('script').length;")
            .await;
        assert_eq!(scripts, json!(0), "{name}: a script element in the page");
        assert_eq!(
            self.script("return document.documentElement.lang;").await,
            json!("id"),
            "{name}: the page is not marked Indonesian"
        );
    }

    /// Resizes the window (a tablet is 768 × 1024).
    pub async fn resize(&self, width: u32, height: u32) {
        self.command(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// Asserts the page needs no sideways scrolling at the window's width.
    pub async fn fits_width(&self, name: &str) {
        let sizes = self
            .script("return [document.documentElement.scrollWidth, window.innerWidth];")
            .await;
        assert!(
            sizes[0].as_i64() <= sizes[1].as_i64(),
            "{name}: wider than the window: {sizes}"
        );
    }

    /// Downloads what the link `css` points at with the browser's own session cookies, and
    /// returns the response's status, `Content-Disposition` and body. Chromium's download
    /// manager is left out: it once left a transfer file at 0 bytes (`.crdownload`) past any
    /// bound, in a run whose download directory's path was not canonical.
    pub async fn download(&self, css: &str) -> (u16, String, String) {
        let href = self
            .script(&format!("return document.querySelector({css:?}).href;"))
            .await
            .as_str()
            .unwrap_or_else(|| panic!("{css}: no link"))
            .to_owned();
        let cookies = self.command("GET", "/cookie", Value::Null).await;
        let cookie = cookies
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c["name"].as_str().unwrap(),
                    c["value"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let response = self
            .http
            .get(&href)
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let disposition = response
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, disposition, response.text().await.unwrap())
    }
}

impl Browser {
    /// Ends the browser session (closing the browser) and the driver.
    pub async fn quit(mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failure the session was not ended: stopping the driver ends its browser.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

//! The web dashboard: static files embedded in the binary at build time (no
//! CDN, no Node toolchain needed to build the server). It talks to the same
//! JSON API with the token the user pastes.
//!
//! The script is a set of native ES modules (`app.js` is the entry and imports
//! the rest), so every module is one entry in [`ASSETS`]; the tests below fail
//! when a module imports a file that is not served.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::{ApiError, ApiResult, Code};

const INDEX: &str = include_str!("../../dashboard/index.html");

/// Module scripts are only run when served with a JavaScript media type.
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// `(name, body, media type)` of a file in `dashboard/`, so the served name
/// and the embedded file cannot differ.
macro_rules! asset {
    ($name:literal, $mime:expr) => {
        ($name, include_str!(concat!("../../dashboard/", $name)), $mime)
    };
}

/// Every file served under `/assets/{file}`; any other name is a 404.
/// Adding a module to the dashboard is one line here.
const ASSETS: &[(&str, &str, &str)] = &[
    asset!("app.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("charts.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("session.js", JS),
    asset!("state.js", JS),
    asset!("tables.js", JS),
    asset!("view-finance.js", JS),
    asset!("view-pilots.js", JS),
    asset!("view-projection.js", JS),
    asset!("view-research.js", JS),
    asset!("workspace.js", JS),
];

/// Security headers for the dashboard: no third-party anything.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The policy, letting the page also reach the identity provider's token
/// endpoint when OIDC sign-in is on (the code is exchanged from the page:
/// a public client with PKCE).
fn csp(state: &super::AppState) -> String {
    let Some(token_endpoint) = state
        .verifier
        .oidc
        .as_ref()
        .and_then(|o| o.sign_in())
        .map(|c| c.token_endpoint)
    else {
        return CSP.to_owned();
    };
    let origin: String = match token_endpoint.find("://") {
        Some(i) => {
            let rest = &token_endpoint[i + 3..];
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            format!("{}://{host}", &token_endpoint[..i])
        }
        None => return CSP.to_owned(),
    };
    // Only characters a URL origin has may enter the header.
    if !origin
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ":/.-[]".contains(c))
    {
        return CSP.to_owned();
    }
    CSP.replace("connect-src 'self'", &format!("connect-src 'self' {origin}"))
}

pub async fn index(state: web::Data<super::AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, csp(&state)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(INDEX)
}

pub async fn asset(path: web::Path<String>) -> ApiResult<HttpResponse> {
    let Some(&(_, body, mime)) = ASSETS.iter().find(|(name, _, _)| *name == path.as_str()) else {
        return Err(ApiError::new(Code::NOT_FOUND, "no such asset"));
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use actix_web::{test as actix_test, App};

    use super::*;

    fn served_modules() -> impl Iterator<Item = (&'static str, &'static str)> {
        ASSETS
            .iter()
            .filter(|(_, _, mime)| *mime == JS)
            .map(|&(name, body, _)| (name, body))
    }

    /// The specifiers of a module's static `import … from '…'`, `import '…'`
    /// and `export … from '…'` statements (each starting a line, ending at `;`).
    fn imported_specifiers(module: &'static str) -> Vec<&'static str> {
        let mut specifiers = Vec::new();
        let mut offset = 0;
        for line in module.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let line = line.trim_start();
            let imports = line.starts_with("import ") || line.starts_with("import{");
            let reexports = line.starts_with("export {") || line.starts_with("export *");
            if !imports && !reexports {
                continue;
            }
            let rest = &module[start..];
            let statement = rest[..rest.find(';').unwrap_or(rest.len())].trim_end();
            if reexports && !statement.contains(" from ") {
                continue;
            }
            let quote = statement.chars().last().filter(|c| *c == '\'' || *c == '"');
            let opening = quote.and_then(|q| statement[..statement.len() - 1].rfind(q));
            match opening {
                Some(at) => specifiers.push(&statement[at + 1..statement.len() - 1]),
                None => panic!("cannot read the module named in: {statement}"),
            }
        }
        specifiers
    }

    #[test]
    fn every_imported_module_is_served() {
        let mut imports = 0;
        for (name, body) in served_modules() {
            for specifier in imported_specifiers(body) {
                imports += 1;
                let file = specifier
                    .strip_prefix("./")
                    .unwrap_or_else(|| panic!("{name} imports {specifier}: name a file beside it, as ./file.js"));
                assert!(
                    served_modules().any(|(served, _)| served == file),
                    "{name} imports {specifier}, which is not in ASSETS"
                );
            }
        }
        // The entry alone imports a module; zero would mean the reader is broken.
        assert!(imports > 0, "no import statement was found");
    }

    #[test]
    fn the_page_loads_a_served_entry_module() {
        let tag = r#"<script type="module" src="/assets/"#;
        let at = INDEX.find(tag).expect("index.html loads a module script") + tag.len();
        let entry = &INDEX[at..at + INDEX[at..].find('"').expect("a closing quote")];
        assert!(served_modules().any(|(name, _)| name == entry), "{entry} is not served");
    }

    #[test]
    fn every_file_in_the_dashboard_folder_is_served() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/dashboard");
        for file in std::fs::read_dir(folder).expect("the dashboard folder") {
            let name = file.expect("a folder entry").file_name();
            let name = name.to_str().expect("a UTF-8 file name");
            assert!(
                name == "index.html" || ASSETS.iter().any(|(served, _, _)| *served == name),
                "dashboard/{name} is not in ASSETS"
            );
        }
    }

    #[test]
    fn the_openapi_document_lists_exactly_the_served_assets() {
        let spec: serde_json::Value =
            serde_json::from_str(crate::routes::health::OPENAPI).expect("the OpenAPI document");
        let documented: BTreeSet<&str> = spec["components"]["parameters"]["file"]["schema"]["enum"]
            .as_array()
            .expect("the file parameter's enum")
            .iter()
            .map(|name| name.as_str().expect("a file name"))
            .collect();
        let served: BTreeSet<&str> = ASSETS.iter().map(|(name, _, _)| *name).collect();
        assert_eq!(documented, served);
    }

    #[actix_web::test]
    async fn modules_are_served_as_javascript_and_unknown_names_are_not_found() {
        let app = actix_test::init_service(App::new().route("/assets/{file}", web::get().to(asset))).await;
        for (name, _) in served_modules() {
            let req = actix_test::TestRequest::get()
                .uri(&format!("/assets/{name}"))
                .to_request();
            let res = actix_test::call_service(&app, req).await;
            assert_eq!(res.status(), 200, "{name}");
            let mime = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
            assert_eq!(mime, Some(JS), "{name}");
        }
        let req = actix_test::TestRequest::get().uri("/assets/missing.js").to_request();
        assert_eq!(actix_test::call_service(&app, req).await.status(), 404);
    }
}

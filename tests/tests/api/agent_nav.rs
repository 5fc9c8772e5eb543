//! The directory's navigation beyond roles and labels, and a user's avatar, over HTTP with
//! JavaScript off and with htmx's headers, on both backends: organizations as views of the user
//! list (filterable), the agent's recently viewed and pinned records (kept with their session),
//! and uploading or removing an avatar from the record (a multipart form, CSRF-checked).

use kith_tests::{Backend, TestApp, backend_tests};
use reqwest::StatusCode;
use serde_json::json;

use crate::agent_pages::{get, login, post};
use crate::pages::{browser, csrf_field};

backend_tests!(organizations_pins_and_recent_records_in_the_navigation, an_agent_uploads_and_removes_an_avatar,);

async fn organizations_pins_and_recent_records_in_the_navigation(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "agent.ann", "emails": [{"email": "ann@desk.example"}], "roles": ["Agent"], "password": "a long agent passphrase"}))
        .await;
    let u1 = app
        .create_user(json!({"username": "una", "display_name": "Una Acme", "emails": [{"email": "una@acme.example"}]}))
        .await;
    app.create_user(json!({"username": "ugo", "display_name": "Ugo Acme", "emails": [{"email": "ugo@acme.example"}]}))
        .await;
    app.create_user(
        json!({"username": "xia", "display_name": "Xia Other", "emails": [{"email": "xia@other.example"}]}),
    )
    .await;
    let (_, acme) = app.post("/api/v1/organizations", json!({"name": "Acme"})).await;
    let acme = acme["id"].as_i64().expect("id");
    let (s, _) = app
        .post(&format!("/api/v1/organizations/{acme}/members"), json!({"kind": "domain", "value": "acme.example"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, globex) = app.post("/api/v1/organizations", json!({"name": "Globex"})).await;
    let globex = globex["id"].as_i64().expect("id");

    let client = browser();
    login(&app, &client, "agent.ann", "a long agent passphrase", "").await;
    let (s, page) = get(&client, &app, "/agent/users").await;
    assert_eq!(s, StatusCode::OK);
    let acme_view = format!("view=org%3A{acme}");
    assert!(page.contains("<div id=\"nav-orgs\">") && page.contains(&acme_view), "{page}");
    assert!(page.contains(&format!("view=org%3A{globex}")), "{page}");
    assert!(!page.contains("nav-recent"), "nothing opened yet");

    // the Agents view: whoever holds an agent role (the administrator and Ann), counted
    let (_, list) = get(&client, &app, "/agent/users?view=agents").await;
    assert!(list.contains("agent.ann") && list.contains("2 users") && !list.contains("Una Acme"), "{list}");
    let res = client
        .get(format!("{}/agent/users/views?view=agents", app.base))
        .header("hx-request", "true")
        .header("hx-target", "views")
        .send()
        .await
        .expect("views");
    let views = res.text().await.expect("html");
    assert!(views.contains("aria-current=\"page\"><span>Agents</span> <span class=\"view-count\">2</span>"), "{views}");
    let (_, v) = app.get("/api/v1/users?agent=true").await;
    assert_eq!(v["total"], 2, "{v}");
    let (_, v) = app.get("/api/v1/users?agent=false").await;
    assert_eq!(v["total"], 3, "{v}");
    let (s, v) = app.get("/api/v1/users?agent=maybe").await;
    kith_tests::assert_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY, Some("agent"));

    // an organization's view: its members, found by its rules
    let (s, list) = get(&client, &app, &format!("/agent/users?view=org:{acme}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(list.contains("Una Acme") && list.contains("Ugo Acme"), "{list}");
    assert!(!list.contains("Xia Other"), "{list}");
    assert!(list.contains("2 users"), "{list}");
    assert!(list.contains(&format!("{acme_view}\" aria-current=\"page\"")), "the view is marked: {list}");
    assert!(!list.contains("name=\"scope\" value=\"matching\""), "no bulk over an organization's members: {list}");
    let (s, _) = get(&client, &app, "/agent/users?view=org:x").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // the filter: as you type (the list alone) and without JavaScript (the page)
    let res = client
        .get(format!("{}/agent/users/orgs-nav?of=glob", app.base))
        .header("hx-request", "true")
        .header("hx-target", "org-list")
        .send()
        .await
        .expect("filter");
    assert_eq!(res.status(), StatusCode::OK);
    let frag = res.text().await.expect("html");
    assert!(frag.contains("Globex") && !frag.contains(&acme_view) && !frag.contains("<html"), "{frag}");
    // their sizes come after the page, with the list
    assert!(page.contains("hx-get=\"&#x2F;agent&#x2F;users&#x2F;orgs-nav\" hx-trigger=\"load\""), "{page}");
    let res = client
        .get(format!("{}/agent/users/orgs-nav", app.base))
        .header("hx-request", "true")
        .header("hx-target", "org-list")
        .send()
        .await
        .expect("counted");
    let frag = res.text().await.expect("html");
    assert!(frag.contains("Acme</span> <span class=\"view-count\">2</span>"), "{frag}");
    assert!(frag.contains("Globex</span> <span class=\"view-count\">0</span>"), "{frag}");
    let (_, page) = get(&client, &app, "/agent/users?of=glob").await;
    assert!(page.contains("value=\"glob\"") && page.contains("Globex") && !page.contains(&acme_view), "{page}");
    let (_, page) = get(&client, &app, "/agent/users?of=nothing-like-it").await;
    assert!(page.contains("No organization matches."), "{page}");

    // recently viewed: the records opened, newest first
    get(&client, &app, &format!("/agent/users/{u1}")).await;
    get(&client, &app, &format!("/agent/organizations/{acme}")).await;
    let (_, page) = get(&client, &app, "/agent/users").await;
    let recent = &page[page.find("Recently viewed").expect("the recent list")..];
    let (org_at, user_at) = (recent.find("Acme</span>").expect("acme"), recent.find("Una Acme").expect("una"));
    assert!(org_at < user_at, "newest first: {recent}");
    assert!(page.contains(&format!("href=\"&#x2F;agent&#x2F;users&#x2F;{u1}\"")), "{page}");

    // pinned: from the record, back to it; the navigation lists it under Pinned
    let (_, record) = get(&client, &app, &format!("/agent/users/{u1}")).await;
    // the header's chips: the organizations the user belongs to
    assert!(
        record.contains(&format!(
            "<a class=\"label org\" href=\"&#x2F;agent&#x2F;organizations&#x2F;{acme}\" dir=\"auto\">Acme</a>"
        )),
        "{record}"
    );
    assert!(!record.contains("Globex</a>"), "{record}");
    assert!(record.contains("aria-pressed=\"false\""), "{record}");
    let back = format!("/agent/users/{u1}");
    let fields = [("kind", "user"), ("id", &u1.to_string()), ("pinned", "true"), ("return_to", back.as_str())];
    let res = post(&client, &app, "/agent/pins", &record, &fields, None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], back.as_str());
    let (_, record) = get(&client, &app, &back).await;
    assert!(record.contains("aria-pressed=\"true\""), "{record}");
    let (_, page) = get(&client, &app, "/agent/organizations").await;
    let pinned = &page[page.find("<h2 class=\"pane-title\">Pinned</h2>").expect("pinned list")..];
    assert!(pinned.find("Una Acme").expect("una") < pinned.find("Recently viewed").expect("recent"), "{pinned}");
    // refused: another kind, a record that is not there
    let res =
        post(&client, &app, "/agent/pins", &record, &[("kind", "ticket"), ("id", "1"), ("pinned", "true")], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res =
        post(&client, &app, "/agent/pins", &record, &[("kind", "user"), ("id", "999999"), ("pinned", "true")], None)
            .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // unpinned
    let fields = [("kind", "user"), ("id", &u1.to_string()), ("pinned", "false"), ("return_to", back.as_str())];
    post(&client, &app, "/agent/pins", &record, &fields, None).await;
    let (_, page) = get(&client, &app, "/agent/users").await;
    assert!(!page.contains("<h2 class=\"pane-title\">Pinned</h2>"), "{page}");
    assert!(page.contains("Una Acme"), "still recently viewed");
}

/// A multipart body with the CSRF field and one file.
fn multipart(csrf: Option<&str>, file_name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let b = "kith-test-boundary-7MA4YWxk";
    let mut body = Vec::new();
    if let Some(csrf) = csrf {
        body.extend(format!("--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n").as_bytes());
    }
    body.extend(
        format!("--{b}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend(file);
    body.extend(format!("\r\n--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

fn png(side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let img = image::RgbImage::from_pixel(side, side, image::Rgb([40, 120, 200]));
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

async fn an_agent_uploads_and_removes_an_avatar(b: Backend) {
    let app = TestApp::start(b).await;
    app.create_user(json!({"username": "agent.ann", "emails": [{"email": "ann@desk.example"}], "roles": ["Agent"], "password": "a long agent passphrase"}))
        .await;
    let carla = app
        .create_user(
            json!({"username": "carla", "display_name": "Carla Diaz", "emails": [{"email": "carla@acme.example"}]}),
        )
        .await;
    let client = browser();
    login(&app, &client, "agent.ann", "a long agent passphrase", "").await;
    let record_path = format!("/agent/users/{carla}");
    let (_, record) = get(&client, &app, &record_path).await;
    assert!(
        record.contains("enctype=\"multipart&#x2F;form-data\"") || record.contains("enctype=\"multipart/form-data\""),
        "{record}"
    );
    assert!(!record.contains("<img class=\"avatar\""), "initials until there is an image");
    let csrf = csrf_field(&record);
    let upload = |csrf: Option<String>, name: &'static str, file: Vec<u8>| {
        let client = client.clone();
        let url = format!("{}/agent/users/{carla}/avatar", app.base);
        async move {
            let (ct, body) = multipart(csrf.as_deref(), name, &file);
            client.post(url).header("content-type", ct).body(body).send().await.expect("upload")
        }
    };
    // refused: no token, not an image, no file
    let res = upload(None, "me.png", png(32)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = upload(Some(csrf.clone()), "notes.txt", b"just some text, not an image".to_vec()).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.expect("html");
    assert!(html.contains("id=\"avatar-error\""), "the reason by the field: {html}");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    let res = upload(Some(csrf.clone()), "", Vec::new()).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.expect("html").contains("No file was chosen."));

    // uploaded: the header shows it, from Kith's own URL
    let res = upload(Some(csrf.clone()), "me.png", png(300)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/agent/users/{carla}?saved=avatar#avatar").as_str());
    let (_, record) = get(&client, &app, &record_path).await;
    let at =
        record.find("<img class=\"avatar\" src=\"").expect("the avatar image") + "<img class=\"avatar\" src=\"".len();
    let src = record[at..].split('"').next().expect("src").replace("&#x2F;", "/").replace("&amp;", "&");
    assert!(src.starts_with(&format!("/api/v1/users/{carla}/avatar?v=")), "{src}");
    let res = client.get(format!("{}{src}", app.base)).send().await.expect("image");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().expect("type").starts_with("image/"));
    assert!(record.contains("Remove the uploaded avatar"), "{record}");

    // removed: initials again
    let res = post(&client, &app, &format!("/agent/users/{carla}/avatar/remove"), &record, &[], None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, record) = get(&client, &app, &record_path).await;
    assert!(!record.contains("<img class=\"avatar\""), "{record}");
}

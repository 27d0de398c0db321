//! Rendered documents print names as written: the PDF embeds a subset of DejaVu Sans as a
//! Type0 font (CIDFontType2, Identity-H) with widths and a ToUnicode map, and the glyphs it
//! shows are the font's own glyphs for the characters of the text.

mod common;

use common::{cmid, pdf::PdfFile, Session, TestServer};
use serde_json::json;
use ttf_parser::{Face, GlyphId};

static DEJAVU_SANS: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// Queues a document, waits for it, and fetches its PDF through a signed link.
async fn rendered(
    srv: &TestServer,
    s: &Session,
    template: &str,
    params: serde_json::Value,
) -> Vec<u8> {
    let job = json!({"clientMutationId": cmid(), "templateId": template, "parameters": params});
    let (status, job) = srv
        .request(
            "POST",
            "/v1/documents/render-jobs",
            Some(&s.token),
            Some(job),
        )
        .await;
    assert_eq!(status, 202, "{job}");
    let path = format!(
        "/v1/documents/render-jobs/{}",
        job["renderJobId"].as_str().expect("id")
    );
    let mut artifact = None;
    for _ in 0..50 {
        let (_, j) = srv.request("GET", &path, Some(&s.token), None).await;
        assert_ne!(j["status"], "failed", "{j}");
        if let Some(id) = j["artifactId"].as_str() {
            artifact = Some(id.to_owned());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let artifact = artifact.expect("rendered within 5 s");
    let (_, link) = srv
        .request(
            "GET",
            &format!("/v1/documents/artifacts/{artifact}"),
            Some(&s.token),
            None,
        )
        .await;
    let url = link["url"].as_str().expect("a signed url");
    let res = srv
        .http
        .get(format!("{}{url}", srv.base))
        .send()
        .await
        .expect("get pdf");
    assert_eq!(res.status().as_u16(), 200);
    res.bytes().await.expect("bytes").to_vec()
}

#[tokio::test]
async fn a_name_outside_latin_1_prints_in_the_embedded_font() {
    let srv = TestServer::start().await;
    srv.sql(|c| {
        c.execute(
            "UPDATE users SET display_name = 'Zoë Łukasiewicz 王小明' WHERE id = 'usr-north-patient1'",
            caresync_server::params![],
        )
    })
    .await;
    let s = srv.login("north-clinic", "patient1").await;
    let visit =
        json!({"clientMutationId": cmid(), "chiefComplaint": "Кашель и πυρετός since Monday"});
    let (status, _) = srv
        .request(
            "POST",
            "/api/v1/virtual-care/async-visits",
            Some(&s.token),
            Some(visit),
        )
        .await;
    assert_eq!(status, 201);
    let bytes = rendered(&srv, &s, "tpl-north-visit-summary", json!({})).await;
    assert!(
        bytes.len() < 32 * 1024,
        "a subset, not the 742 KiB font: {} bytes",
        bytes.len()
    );
    let pdf = PdfFile::new(&bytes);

    let type0 = pdf.objects_with("/Subtype /Type0");
    assert_eq!(type0.len(), 1, "one font");
    let type0 = pdf.object(type0[0]);
    assert!(
        type0.dict.contains("/Encoding /Identity-H"),
        "{}",
        type0.dict
    );
    assert!(type0.dict.contains("/ToUnicode "), "{}", type0.dict);
    let cid_font = pdf.object(pdf.reference(&type0.dict, "/DescendantFonts"));
    assert!(
        cid_font.dict.contains("/Subtype /CIDFontType2"),
        "{}",
        cid_font.dict
    );
    assert!(
        cid_font.dict.contains("/CIDToGIDMap /Identity"),
        "{}",
        cid_font.dict
    );
    assert!(cid_font.dict.contains("/W ["), "glyph widths");
    let descriptor = pdf.object(pdf.reference(&cid_font.dict, "/FontDescriptor"));
    let program = pdf.object(pdf.reference(&descriptor.dict, "/FontFile2"));
    let program = program.stream.expect("the font program");
    let subset = Face::parse(&program, 0).expect("the embedded program is a TrueType font");
    assert!(
        subset.number_of_glyphs() < 80,
        "subset: {} glyphs",
        subset.number_of_glyphs()
    );

    let text = pdf.text();
    assert!(
        text.contains("Visit summary for Zoë Łukasiewicz ???"),
        "{text}"
    );
    assert!(text.contains("Кашель и πυρετός since Monday"), "{text}");
    assert!(
        pdf.actual_texts()
            .contains(&"Visit summary for Zoë Łukasiewicz 王小明".to_owned()),
        "the line with characters the font lacks keeps them for copying"
    );

    // Every glyph shown is the font's own glyph for its character: same advance, same outline
    // box as the glyph DejaVu Sans maps the character to.
    let original = Face::parse(DEJAVU_SANS, 0).expect("DejaVu Sans");
    let unicode = pdf.to_unicode();
    let mut checked = String::new();
    for cid in pdf.shown().into_iter().flatten() {
        let c = unicode[&cid].chars().next().expect("a character");
        let glyph = original.glyph_index(c).expect("DejaVu Sans has it");
        assert_eq!(
            subset.glyph_hor_advance(GlyphId(cid)),
            original.glyph_hor_advance(glyph),
            "{c}"
        );
        assert_eq!(
            subset.glyph_bounding_box(GlyphId(cid)),
            original.glyph_bounding_box(glyph),
            "{c}"
        );
        checked.push(c);
    }
    for c in "ZëŁКшπυρετός?".chars() {
        assert!(checked.contains(c), "{c} was printed and checked");
    }
}

#[tokio::test]
async fn a_long_complaint_runs_onto_a_second_page_rather_than_off_the_first() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let complaint = "I have had a headache every morning this week. ".repeat(80);
    let visit = json!({"clientMutationId": cmid(), "chiefComplaint": complaint.trim()});
    srv.request(
        "POST",
        "/api/v1/virtual-care/async-visits",
        Some(&s.token),
        Some(visit),
    )
    .await;
    let pdf = PdfFile::new(&rendered(&srv, &s, "tpl-north-visit-summary", json!({})).await);
    assert_eq!(pdf.objects_with("/Type /Page\n").len(), 2);
    let text = pdf.text().replace('\n', " ");
    assert_eq!(
        text.matches("headache every morning").count(),
        80,
        "all of it is printed"
    );
}

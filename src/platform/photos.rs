//! Photos for a visit, made to fit on the device: the browser decodes the file
//! (`createImageBitmap`), draws it on a canvas no larger than it needs to be, and encodes it
//! as JPEG, lowering the size and quality step by step until it is within the server's
//! limit (512 KiB). A 4 MB phone photo just works, with no upload of the original.

use caresync_contract::virtual_care::MAX_ATTACHMENT_BYTES;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

/// The longest side a photo starts from: enough to see a rash, far below a phone camera's.
const START_SIDE: f64 = 1600.0;
const QUALITIES: [f64; 3] = [0.85, 0.7, 0.55];
/// Each round that still does not fit scales the longest side by this much.
const SHRINK: f64 = 0.75;
const ROUNDS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("this file is not an image the browser can read")]
    NotAnImage,
    #[error("the photo could not be made small enough to send")]
    TooLarge,
    #[error("the browser could not prepare the photo: {0}")]
    Browser(String),
}

/// A photo ready to send: JPEG, within the limit, as base64 (what the visit body carries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Photo {
    pub file_name: String,
    pub content_type: String,
    pub data_base64: String,
    /// Bytes once decoded.
    pub size: usize,
}

impl Photo {
    /// For a preview (`img-src data:` is allowed by the page's policy).
    pub fn data_url(&self) -> String {
        format!("data:{};base64,{}", self.content_type, self.data_base64)
    }
}

fn browser(e: wasm_bindgen::JsValue) -> PhotoError {
    PhotoError::Browser(e.as_string().unwrap_or_else(|| format!("{e:?}")))
}

/// Decodes `file` and re-encodes it to fit.
pub async fn prepare(file: &web_sys::File) -> Result<Photo, PhotoError> {
    let window = web_sys::window().ok_or_else(|| PhotoError::Browser("no window".into()))?;
    let decoding = window
        .create_image_bitmap_with_blob(file)
        .map_err(|_| PhotoError::NotAnImage)?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(decoding)
        .await
        .map_err(|_| PhotoError::NotAnImage)?
        .unchecked_into();
    let (w, h) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    let mut scale = (START_SIDE / w.max(h)).min(1.0);
    for _ in 0..ROUNDS {
        for quality in QUALITIES {
            let data = encode(
                &bitmap,
                (w * scale).round().max(1.0),
                (h * scale).round().max(1.0),
                quality,
            )?;
            let size = data.len() / 4 * 3 - data.bytes().rev().take_while(|b| *b == b'=').count();
            if size <= MAX_ATTACHMENT_BYTES {
                bitmap.close();
                return Ok(Photo {
                    file_name: jpeg_name(&file.name()),
                    content_type: "image/jpeg".into(),
                    data_base64: data,
                    size,
                });
            }
        }
        scale *= SHRINK;
    }
    bitmap.close();
    Err(PhotoError::TooLarge)
}

/// The bitmap drawn at `w × h`, as JPEG base64.
fn encode(
    bitmap: &web_sys::ImageBitmap,
    w: f64,
    h: f64,
    quality: f64,
) -> Result<String, PhotoError> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| PhotoError::Browser("no document".into()))?;
    let canvas: web_sys::HtmlCanvasElement = document
        .create_element("canvas")
        .map_err(browser)?
        .unchecked_into();
    canvas.set_width(w as u32);
    canvas.set_height(h as u32);
    let ctx: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(browser)?
        .ok_or_else(|| PhotoError::Browser("no 2D canvas".into()))?
        .unchecked_into();
    ctx.draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, w, h)
        .map_err(browser)?;
    let url = canvas
        .to_data_url_with_type_and_encoder_options("image/jpeg", &quality.into())
        .map_err(browser)?;
    url.split_once(',')
        .map(|(_, data)| data.to_owned())
        .ok_or_else(|| PhotoError::Browser("no image data".into()))
}

/// `rash.heic` → `rash.jpg`: the name says what the bytes are now.
fn jpeg_name(original: &str) -> String {
    let stem = original.rsplit_once('.').map_or(original, |(stem, _)| stem);
    let stem = if stem.is_empty() { "photo" } else { stem };
    format!("{stem}.jpg")
}

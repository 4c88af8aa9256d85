//! `/api/upload`, `/api/files/:id[/thumbnail]`, avatars (`/api/users/me/avatar`,
//! `/api/chats/:id/avatar`) and the media gallery (`/api/chats/:id/media`).
//!
//! Uploads are the only routes with a body limit above the JSON one; the body is streamed, never
//! buffered. Downloads accept a bearer token or a signed URL and always go out with `nosniff`
//! and a sandboxing CSP, as attachments unless the type is harmless to show.

use std::ops::Range;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Json, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::UserResponse;
use super::extract::{ApiPath, ApiQuery};
use super::{MessageResponse, PageQuery, message};
use crate::app::AppState;
use crate::config::FilesConfig;
use crate::domain::{ChatId, FileId};
use crate::error::{AppError, AppResult};
use crate::files::signed::Signature;
use crate::files::{Variant, sniff};
use crate::service::accounts::AuthUser;
use crate::service::chats::{self, UpdateChatRequest};
use crate::service::files::{self, Credential, Incoming, Purpose};
use crate::service::users::{self, ProfileRequest};
use crate::store::FileRow;
use crate::wire::{Chat, FileInfo, Message};

/// Sandboxes whatever a browser opens directly: no script, no plugins, no requests elsewhere.
const CSP: &str = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; \
    style-src 'unsafe-inline'";

pub fn router(config: &FilesConfig) -> Router<AppState> {
    // The multipart reader stops at this; our own count stops each file at its kind's limit.
    let largest = config.max_image_bytes.max(config.max_file_bytes);
    let upload_limit = DefaultBodyLimit::max(
        usize::try_from(largest)
            .unwrap_or(usize::MAX)
            .saturating_add(1 << 20),
    );
    let uploads = Router::new()
        .route("/api/upload", post(upload))
        .route("/api/users/me/avatar", post(user_avatar))
        .route("/api/chats/{id}/avatar", post(group_avatar))
        .layer(upload_limit);
    Router::new()
        .merge(uploads)
        .route("/api/files/{id}", get(download).delete(remove))
        .route("/api/files/{id}/thumbnail", get(thumbnail))
        .route("/api/chats/{id}/media", get(media))
}

/// POST /api/upload: multipart field `file`; the type comes from the bytes.
#[utoipa::path(post, path = "/api/upload", tag = "files",
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = FileInfo), (status = 400), (status = 401), (status = 413),
        (status = 415)), security(("bearer" = [])))]
async fn upload(
    State(state): State<AppState>,
    auth: AuthUser,
    request: Request,
) -> AppResult<(StatusCode, Json<FileInfo>)> {
    let row = receive(&state, &auth, request, Purpose::Attachment).await?;
    let info = files::file_info(&state.files, &row, auth.user_id);
    Ok((StatusCode::CREATED, Json(info)))
}

/// Checks the declared length, then streams the multipart field `file` into the service.
async fn receive(
    state: &AppState,
    auth: &AuthUser,
    request: Request,
    purpose: Purpose,
) -> AppResult<FileRow> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    files::check_declared_length(state, auth, declared).await?;
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|_| AppError::invalid("file", "send the file as multipart/form-data"))?;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        let chunks = field.map(|chunk| chunk.map_err(multipart_error));
        let incoming = Incoming {
            name,
            chunks: Box::pin(chunks),
        };
        let received = files::receive(state, incoming, purpose).await?;
        // Read to the end: a body cut short (a lying Content-Length) must not be stored.
        while multipart
            .next_field()
            .await
            .map_err(multipart_error)?
            .is_some()
        {}
        return files::finish(state, auth, received).await;
    }
    Err(AppError::invalid("file", "is missing"))
}

fn multipart_error(err: axum::extract::multipart::MultipartError) -> AppError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge("The upload is larger than any file may be".into())
    } else {
        AppError::invalid("file", "the multipart body is malformed or incomplete")
    }
}

/// GET /api/files/:id: the uploader and members of a chat it was sent to; `Range` supported.
#[utoipa::path(get, path = "/api/files/{id}", tag = "files", params(("id" = String, Path), Signature),
    responses((status = 200, description = "the file"), (status = 206, description = "a range"),
        (status = 404), (status = 416)), security(("bearer" = []), ()))]
async fn download(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<FileId>,
    ApiQuery(signature): ApiQuery<Signature>,
    headers: HeaderMap,
) -> AppResult<Response> {
    serve(&state, id, Variant::Original, signature, &headers).await
}

/// GET /api/files/:id/thumbnail: the generated thumbnail of an image (or an avatar).
#[utoipa::path(get, path = "/api/files/{id}/thumbnail", tag = "files",
    params(("id" = String, Path), Signature),
    responses((status = 200, description = "the thumbnail"), (status = 404)),
    security(("bearer" = []), ()))]
async fn thumbnail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<FileId>,
    ApiQuery(signature): ApiQuery<Signature>,
    headers: HeaderMap,
) -> AppResult<Response> {
    serve(&state, id, Variant::Thumbnail, signature, &headers).await
}

async fn serve(
    state: &AppState,
    id: FileId,
    variant: Variant,
    signature: Signature,
    headers: &HeaderMap,
) -> AppResult<Response> {
    let credential = credential(state, headers, signature).await?;
    let row = files::authorize_download(state, id, variant, &credential).await?;
    let (total, mime, disposition) = match variant {
        Variant::Original => {
            let inline = sniff::is_inline(&row.mime_type);
            (
                Some(row.size as u64),
                row.mime_type.clone(),
                sniff::content_disposition(inline, &row.name),
            )
        }
        Variant::Thumbnail => (
            None,
            row.thumbnail_mime.clone().unwrap_or_default(),
            "inline".into(),
        ),
    };
    let range = match (total, headers.get(header::RANGE)) {
        (Some(size), Some(value)) => parse_range(value.to_str().unwrap_or_default(), size)?,
        _ => None,
    };
    let (size, stream) = state.files.blobs.get(id, variant, range.clone()).await?;
    let mut response = Response::new(Body::from_stream(stream));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(&mime));
    h.insert(header::CONTENT_DISPOSITION, header_value(&disposition));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(range) = range {
        let content_range = format!("bytes {}-{}/{size}", range.start, range.end - 1);
        h.insert(header::CONTENT_RANGE, header_value(&content_range));
        h.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(range.end - range.start),
        );
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    } else {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    Ok(response)
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// A bearer token when one is sent (a bad one is a 401), else the URL's signature.
async fn credential(
    state: &AppState,
    headers: &HeaderMap,
    signature: Signature,
) -> AppResult<Credential> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match bearer {
        Some(token) => Ok(Credential::Bearer(
            crate::service::accounts::authenticate(state, token).await?,
        )),
        None => Ok(Credential::Signed(signature)),
    }
}

/// One range of `bytes=a-b`, `bytes=a-` or `bytes=-n`. Several ranges or a malformed header
/// are ignored (the whole file is sent), as RFC 9110 allows; a range wholly outside is a 416.
fn parse_range(value: &str, size: u64) -> AppResult<Option<Range<u64>>> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    let range = match (first.is_empty(), last.is_empty()) {
        (true, false) => match parse(last) {
            Some(0) => return Err(AppError::RangeNotSatisfiable { size }),
            Some(n) => size.saturating_sub(n)..size,
            None => return Ok(None),
        },
        (false, _) => {
            let Some(start) = parse(first) else {
                return Ok(None);
            };
            if start >= size {
                return Err(AppError::RangeNotSatisfiable { size });
            }
            let end = if last.is_empty() {
                Some(size - 1)
            } else {
                parse(last)
            };
            let Some(end) = end.filter(|end| *end >= start) else {
                return Ok(None);
            };
            start..end.min(size - 1) + 1
        }
        (true, true) => return Ok(None),
    };
    Ok(Some(range))
}

/// DELETE /api/files/:id: the uploader, once no message or avatar uses it (else 409).
#[utoipa::path(delete, path = "/api/files/{id}", tag = "files", params(("id" = String, Path)),
    responses((status = 200, body = MessageResponse), (status = 404), (status = 409)),
    security(("bearer" = [])))]
async fn remove(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<FileId>,
) -> AppResult<Json<MessageResponse>> {
    files::delete(&state, &auth, id).await?;
    Ok(message("File deleted"))
}

/// POST /api/users/me/avatar: multipart `file`, an image; stored with a square thumbnail.
#[utoipa::path(post, path = "/api/users/me/avatar", tag = "users",
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 200, body = UserResponse), (status = 413), (status = 415)),
    security(("bearer" = [])))]
async fn user_avatar(
    State(state): State<AppState>,
    auth: AuthUser,
    request: Request,
) -> AppResult<Json<UserResponse>> {
    let row = receive(&state, &auth, request, Purpose::Avatar).await?;
    let profile = ProfileRequest {
        display_name: None,
        bio: None,
        avatar_url: Some(Some(state.files.signer.avatar_url(row.id))),
        status: None,
    };
    let user = users::update_profile(&state, &auth, profile).await?;
    Ok(Json(UserResponse { user }))
}

/// POST /api/chats/:id/avatar: a group's admins set its picture (multipart `file`).
#[utoipa::path(post, path = "/api/chats/{id}/avatar", tag = "chats", params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 200, body = Chat), (status = 403), (status = 413), (status = 415)),
    security(("bearer" = [])))]
async fn group_avatar(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(chat): ApiPath<ChatId>,
    request: Request,
) -> AppResult<Json<Chat>> {
    // Refuse before storing anything.
    let m = chats::membership(&state, auth.user_id, chat).await?;
    if m.chat.kind != chats::GROUP || m.member.role != "admin" {
        return Err(AppError::Forbidden(
            "Only a group's admins can change its picture".into(),
        ));
    }
    let row = receive(&state, &auth, request, Purpose::Avatar).await?;
    let update = UpdateChatRequest {
        name: None,
        description: None,
        avatar_url: Some(Some(state.files.signer.avatar_url(row.id))),
    };
    Ok(Json(chats::update(&state, &auth, chat, update).await?))
}

#[derive(Deserialize, IntoParams)]
struct MediaQuery {
    /// `image`, `video`, `audio` or `file`; absent: all.
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct MediaPage {
    items: Vec<Message>,
    next_cursor: Option<String>,
    has_more: bool,
}

/// GET /api/chats/:id/media: the gallery, newest first.
#[utoipa::path(get, path = "/api/chats/{id}/media", tag = "chats",
    params(("id" = String, Path), MediaQuery),
    responses((status = 200, body = MediaPage), (status = 400), (status = 404)),
    security(("bearer" = [])))]
async fn media(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(chat): ApiPath<ChatId>,
    ApiQuery(query): ApiQuery<MediaQuery>,
) -> AppResult<Json<MediaPage>> {
    let limit = PageQuery::parse_limit(query.limit.as_deref())?;
    let page = files::media(
        &state,
        &auth,
        chat,
        query.kind.as_deref(),
        query.cursor.as_deref(),
        limit,
    )
    .await?;
    Ok(Json(MediaPage {
        items: page.messages,
        next_cursor: page.next_cursor,
        has_more: page.has_more,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let r = |v| parse_range(v, 100).ok().flatten();
        assert_eq!(r("bytes=0-9"), Some(0..10));
        assert_eq!(r("bytes=90-"), Some(90..100));
        assert_eq!(r("bytes=-10"), Some(90..100));
        assert_eq!(r("bytes=-1000"), Some(0..100));
        assert_eq!(r("bytes=95-1000"), Some(95..100));
        assert_eq!(r("bytes=0-1,5-6"), None);
        assert_eq!(r("items=0-1"), None);
        assert_eq!(r("bytes=9-3"), None);
        assert!(parse_range("bytes=100-", 100).is_err());
        assert!(parse_range("bytes=-0", 100).is_err());
    }
}

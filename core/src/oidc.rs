//! OpenID Connect relying party (`openidconnect`): discovery (the document must name the
//! configured issuer), the authorization code flow with PKCE (S256), `state` and `nonce`, and
//! the ID token checked for signature, issuer, audience, expiry and nonce. The HTTP client
//! used for discovery, JWKS, token and userinfo calls follows no redirects.

use std::collections::HashMap;
use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, reqwest,
};
use tokio::sync::RwLock;

use crate::config::OAuthProvider;

/// A client built from discovery: authorization endpoint set, token and userinfo endpoints
/// as the provider's document says.
type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// What a provider asserted about the person who logged in.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
    /// Every claim of the ID token and userinfo (the ID token's win).
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// Why an OpenID Connect login failed (the client sees a generic answer; the log says this).
#[derive(Debug, thiserror::Error)]
pub enum OidcFailure {
    #[error("provider unavailable or misconfigured: {0}")]
    Provider(String),
    #[error("token exchange refused: {0}")]
    Exchange(String),
    #[error("ID token rejected: {0}")]
    IdToken(String),
}

/// Discovered providers, cached; and the HTTP client that never follows a redirect.
#[derive(Debug)]
pub struct Oidc {
    http: reqwest::Client,
    metadata: RwLock<HashMap<String, CoreProviderMetadata>>,
}

/// A login about to be sent to the provider: where to send the browser, and what to keep.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl Oidc {
    pub fn new() -> Result<Self, OidcFailure> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| OidcFailure::Provider(e.to_string()))?;
        Ok(Oidc { http, metadata: RwLock::new(HashMap::new()) })
    }

    /// The provider's discovery document (cached; `refresh` fetches it and its keys again).
    async fn metadata(&self, p: &OAuthProvider, refresh: bool) -> Result<CoreProviderMetadata, OidcFailure> {
        if !refresh && let Some(m) = self.metadata.read().await.get(&p.id) {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|e| OidcFailure::Provider(e.to_string()))?;
        // discover_async refuses a document whose `issuer` is not exactly this one
        let m = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcFailure::Provider(format!("discovery of {}: {e}", p.issuer)))?;
        self.metadata.write().await.insert(p.id.clone(), m.clone());
        Ok(m)
    }

    /// The exact redirect URI registered with the provider.
    pub fn redirect_uri(public_url: &str, p: &OAuthProvider) -> String {
        format!("{public_url}/api/v1/auth/oauth/{}/callback", p.id)
    }

    /// Builds the authorization request: fresh `state`, `nonce` and PKCE verifier (S256).
    pub async fn start(&self, p: &OAuthProvider, public_url: &str) -> Result<Started, OidcFailure> {
        let client = self.client(p, public_url, false).await?;
        let verifier = PkceCodeVerifier::new(crate::auth::random_string(48));
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let mut request =
            client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for scope in p.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    async fn client(&self, p: &OAuthProvider, public_url: &str, refresh: bool) -> Result<Client, OidcFailure> {
        let metadata = self.metadata(p, refresh).await?;
        let redirect =
            RedirectUrl::new(Self::redirect_uri(public_url, p)).map_err(|e| OidcFailure::Provider(e.to_string()))?;
        let secret = (!p.client_secret.is_empty()).then(|| ClientSecret::new(p.client_secret.clone()));
        Ok(CoreClient::from_provider_metadata(metadata, ClientId::new(p.client_id.clone()), secret)
            .set_redirect_uri(redirect))
    }

    /// Exchanges the code (with the PKCE verifier) and checks the ID token; an ID token signed
    /// with a key the cached JWKS lacks triggers one fresh discovery (key rotation).
    pub async fn finish(
        &self,
        p: &OAuthProvider,
        public_url: &str,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Identity, OidcFailure> {
        let client = self.client(p, public_url, false).await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcFailure::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcFailure::Exchange(e.to_string()))?;
        let id_token = response.id_token().ok_or_else(|| OidcFailure::IdToken("no ID token in the answer".into()))?;
        let nonce = Nonce::new(nonce.to_string());
        let claims = match id_token.claims(&verifier(&client), &nonce) {
            Ok(c) => c.clone(),
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(first)) => {
                let fresh = self.client(p, public_url, true).await?;
                id_token
                    .claims(&verifier(&fresh), &nonce)
                    .map_err(|e| OidcFailure::IdToken(format!("{e} (before a key refresh: {first})")))?
                    .clone()
            }
            Err(e) => return Err(OidcFailure::IdToken(e.to_string())),
        };
        // The verified token's payload, for claims beyond the standard ones (groups).
        let mut all = jwt_payload(&id_token.to_string()).unwrap_or_default();
        let wants = |all: &serde_json::Map<String, serde_json::Value>| {
            !all.contains_key("email")
                || !all.contains_key("name")
                || (!p.roles_claim.is_empty() && !all.contains_key(&p.roles_claim))
        };
        // Many providers put profile claims in the userinfo answer only; it must be about the
        // same subject.
        if wants(&all)
            && let Some(endpoint) = client.user_info_url()
        {
            let body = self
                .http
                .get(endpoint.url().clone())
                .bearer_auth(response.access_token().secret())
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| OidcFailure::Exchange(format!("userinfo: {e}")))?
                .bytes()
                .await
                .map_err(|e| OidcFailure::Exchange(format!("userinfo: {e}")))?;
            let info: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| OidcFailure::Exchange(format!("userinfo is not JSON: {e}")))?;
            if info.get("sub").and_then(|s| s.as_str()) != Some(claims.subject().as_str()) {
                return Err(OidcFailure::IdToken("userinfo is about another subject".into()));
            }
            if let serde_json::Value::Object(extra) = info {
                for (k, v) in extra {
                    all.entry(k).or_insert(v);
                }
            }
        }
        let text = |k: &str| all.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let who = Identity {
            issuer: claims.issuer().as_str().to_string(),
            subject: claims.subject().as_str().to_string(),
            email: text("email").map(|e| e.to_lowercase()),
            email_verified: matches!(all.get("email_verified"), Some(serde_json::Value::Bool(true)))
                || text("email_verified").as_deref() == Some("true"),
            name: text("name"),
            preferred_username: text("preferred_username"),
            claims: all,
        };
        Ok(who)
    }
}

/// The payload of a JWT whose signature was already checked.
fn jwt_payload(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The ID token checks: openidconnect's (signature, issuer, audience with no untrusted extra
/// audience, expiry, nonce) plus an issue time no later than a minute from now.
fn verifier<'a>(client: &'a Client) -> openidconnect::core::CoreIdTokenVerifier<'a> {
    client.id_token_verifier().set_issue_time_verifier_fn(|iat| {
        if iat > chrono::Utc::now() + chrono::Duration::seconds(60) {
            Err(format!("issued in the future ({iat})"))
        } else {
            Ok(())
        }
    })
}

/// A post-login target is accepted only as a same-origin path: one leading `/`, no second
/// `/` or `\` after it, no scheme, no encoded slashes or dot segments, printable ASCII only.
pub fn safe_return_to(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    target.starts_with('/')
        && !target.starts_with("//")
        && !target.starts_with("/\\")
        && target.len() <= 512
        && target.chars().all(|c| c.is_ascii_graphic())
        && !target.contains('\\')
        && !lower.contains("%2f")
        && !lower.contains("%5c")
        && !target.split(['/', '?', '#', ';']).any(|seg| seg == ".." || seg == ".")
        && !target.contains('@')
        && !lower.contains("javascript:")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RELIABILITY O11: no target of the list leaves the site.
    #[test]
    fn return_to_accepts_only_same_origin_paths() {
        for bad in [
            "//evil.test",
            "https://evil.test",
            "/\\evil.test",
            "https:evil.test",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "https://app@evil.test",
            "/..;/admin",
            "%2F%2Fevil.test",
            "/%2F%2Fevil.test",
            "/a/../../x",
            "",
            "evil.test",
            "/ok\nLocation: x",
        ] {
            assert!(!safe_return_to(bad), "{bad:?} must be refused");
        }
        for good in ["/", "/agent/users/42", "/portal?tab=tickets", "/a-b_c.d"] {
            assert!(safe_return_to(good), "{good:?} must be accepted");
        }
    }
}

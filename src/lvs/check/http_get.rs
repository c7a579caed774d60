//! HTTP_GET / SSL_GET attempt: fetch each `url`, check the status code ranges and the MD5 digest.
//! TLS (SSL_GET) uses rustls and, like keepalived without a CA, does not verify certificates.

use super::body_regex::{BodyRegex, RegexVerdict};
use super::http::{request, HttpProtocol, ResponseParser};
use super::schedule::Outcome;
use super::tcp::{socket_for, TcpTarget};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// One `url { }` to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlSpec {
    /// Path.
    pub path: String,
    /// Expected lower-case hex MD5 of the body.
    pub digest: Option<String>,
    /// Accepted status ranges (inclusive).
    pub status: Vec<(u16, u16)>,
    /// Host header (virtualhost), else `addr:port`.
    pub host: Option<String>,
    /// `regex` with its options: the body must match (or not, with `regex_no_match`).
    pub regex: Option<Arc<BodyRegex>>,
}

/// TLS settings for SSL_GET.
#[derive(Clone)]
pub struct Tls {
    /// Client configuration (no certificate verification).
    pub config: Arc<rustls::ClientConfig>,
    /// SNI name, when `enable_sni`.
    pub sni: Option<String>,
}

impl Tls {
    /// keepalived-compatible TLS: any certificate is accepted.
    pub fn insecure(sni: Option<String>) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.dangerous()
                    .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
                    .with_no_client_auth()
            });
        let config = match config {
            Ok(c) => c,
            // The ring provider always supports the default versions; keep a usable fallback.
            Err(_) => rustls::ClientConfig::builder()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))))
                .with_no_client_auth(),
        };
        Self {
            config: Arc::new(config),
            sni,
        }
    }
}

#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Maximum body read before giving up (an endless body is a failure, not a stuck checker).
pub const MAX_BODY: u64 = 16 << 20;

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    url: &UrlSpec,
    host: &str,
    proto: HttpProtocol,
) -> Result<super::http::Response, String> {
    s.write_all(&request(&url.path, host, proto))
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut p = ResponseParser::with_regex(url.regex.clone());
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0u64;
    loop {
        let n = match s.read(&mut buf).await {
            Ok(n) => n,
            // A TLS peer closing without close_notify still ends the body, as in keepalived.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(format!("read: {e}")),
        };
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_BODY {
            return Err(format!("body larger than {MAX_BODY} bytes"));
        }
        p.feed(&buf[..n]).map_err(|e| e.to_string())?;
        // Without a digest or regex the body does not matter: the status line is enough.
        if url.digest.is_none() && url.regex.is_none() {
            if let Some(status) = p.status() {
                return Ok(super::http::Response {
                    status,
                    digest: String::new(),
                    body_len: 0,
                    regex: None,
                });
            }
        }
    }
    p.finish().map_err(|e| e.to_string())
}

/// Runs one HTTP_GET/SSL_GET attempt over all `urls` (all must pass) within the timeout.
pub async fn check(
    t: &TcpTarget,
    urls: &[UrlSpec],
    tls: Option<&Tls>,
    proto: HttpProtocol,
) -> Outcome {
    let work = async {
        for url in urls {
            let sock = socket_for(t).map_err(|e| format!("socket: {e}"))?;
            let stream = sock
                .connect(t.addr)
                .await
                .map_err(|e| format!("connect {}: {e}", t.addr))?;
            let host = url.host.clone().unwrap_or_else(|| t.addr.to_string());
            let resp = match tls {
                None => exchange(stream, url, &host, proto).await?,
                Some(tls) => {
                    let name = tls.sni.clone().unwrap_or_else(|| t.addr.ip().to_string());
                    let server_name = rustls::pki_types::ServerName::try_from(name)
                        .map_err(|e| format!("bad TLS server name: {e}"))?;
                    let conn = tokio_rustls::TlsConnector::from(tls.config.clone())
                        .connect(server_name, stream)
                        .await
                        .map_err(|e| format!("TLS handshake: {e}"))?;
                    exchange(conn, url, &host, proto).await?
                }
            };
            if !url
                .status
                .iter()
                .any(|(a, b)| (*a..=*b).contains(&resp.status))
            {
                return Err(format!(
                    "{}: status {} not in the expected codes",
                    url.path, resp.status
                ));
            }
            if let Some(want) = &url.digest {
                if &resp.digest != want {
                    return Err(format!(
                        "{}: digest {} differs from {want}",
                        url.path, resp.digest
                    ));
                }
            }
            if let Some(RegexVerdict::Fail(why)) = &resp.regex {
                return Err(format!("{}: regex match failed: {why}", url.path));
            }
        }
        Ok(())
    };
    match tokio::time::timeout(t.timeout, work).await {
        Ok(Ok(())) => Outcome::Success { weight: None },
        Ok(Err(reason)) => Outcome::Failure { reason },
        Err(_) => Outcome::Failure {
            reason: format!("HTTP check of {} timed out after {:?}", t.addr, t.timeout),
        },
    }
}

//! A throw-away certificate authority and a server certificate for
//! 127.0.0.1, made with OpenSSL, for TLS tests on loopback.

use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509NameBuilder};

pub struct TestCa {
    /// The CA certificate clients trust.
    pub ca_file: PathBuf,
    /// The server's certificate (for IP 127.0.0.1) and key.
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
    PKey::from_ec_key(EcKey::generate(&group).expect("key")).expect("pkey")
}

fn certificate(
    subject: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
) -> X509 {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", subject).expect("cn");
    let name = name.build();
    let mut builder = X509::builder().expect("builder");
    builder.set_version(2).expect("version");
    let mut serial = BigNum::new().expect("bn");
    serial
        .rand(64, MsbOption::MAYBE_ZERO, false)
        .expect("serial");
    builder
        .set_serial_number(&serial.to_asn1_integer().expect("serial"))
        .expect("serial");
    builder.set_subject_name(&name).expect("subject");
    builder.set_pubkey(key).expect("pubkey");
    builder
        .set_not_before(&Asn1Time::days_from_now(0).expect("time"))
        .expect("not before");
    builder
        .set_not_after(&Asn1Time::days_from_now(2).expect("time"))
        .expect("not after");
    let (issuer_name, signer) = match issuer {
        Some((ca, ca_key)) => {
            let san = SubjectAlternativeName::new()
                .ip("127.0.0.1")
                .build(&builder.x509v3_context(Some(ca), None))
                .expect("san");
            builder.append_extension(san).expect("san");
            builder
                .append_extension(ExtendedKeyUsage::new().server_auth().build().expect("eku"))
                .expect("eku");
            (ca.subject_name().to_owned().expect("issuer"), ca_key)
        }
        None => {
            builder
                .append_extension(BasicConstraints::new().critical().ca().build().expect("bc"))
                .expect("bc");
            builder
                .append_extension(
                    KeyUsage::new()
                        .critical()
                        .key_cert_sign()
                        .build()
                        .expect("ku"),
                )
                .expect("ku");
            (name, key)
        }
    };
    builder.set_issuer_name(&issuer_name).expect("issuer");
    builder.sign(signer, MessageDigest::sha256()).expect("sign");
    builder.build()
}

impl TestCa {
    pub fn new(folder: &Path) -> Self {
        let ca_key = key();
        let ca = certificate("pushd test CA", &ca_key, None);
        let server_key = key();
        let server = certificate("127.0.0.1", &server_key, Some((&ca, &ca_key)));
        let write = |name: &str, pem: Vec<u8>| {
            let path = folder.join(name);
            std::fs::write(&path, pem).expect("write pem");
            path
        };
        Self {
            ca_file: write("ca.pem", ca.to_pem().expect("pem")),
            cert_file: write("server.pem", server.to_pem().expect("pem")),
            key_file: write(
                "server.key",
                server_key.private_key_to_pem_pkcs8().expect("pem"),
            ),
        }
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(&self.ca_file).expect("read ca")
    }
}

/// A gRPC channel to `url`, trusting `ca` when given.
pub async fn channel(url: &str, ca: Option<&TestCa>) -> tonic::transport::Channel {
    use tonic::transport::{Certificate, Channel, ClientTlsConfig};
    let mut endpoint = Channel::from_shared(url.to_owned()).expect("url");
    if let Some(ca) = ca {
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.ca_pem())))
            .expect("tls config");
    }
    endpoint.connect().await.expect("connect")
}

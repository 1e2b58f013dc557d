package io.cascadesfu.core.dtls;

import java.io.IOException;
import java.io.Reader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Locale;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.util.PrivateKeyFactory;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.HashAlgorithm;
import org.bouncycastle.tls.SignatureAlgorithm;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.TlsContext;
import org.bouncycastle.tls.TlsCredentialedSigner;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.TlsCryptoParameters;
import org.bouncycastle.tls.crypto.impl.bc.BcDefaultTlsCredentialedSigner;
import org.bouncycastle.tls.crypto.impl.bc.BcTlsCrypto;

/**
 * ECDSA P-256 self-signed certificate (made at start) or loaded from PEM files. Immutable and shared by all
 * DTLS sessions of a node; its SHA-256 fingerprint goes into every SDP answer as {@code a=fingerprint:sha-256}.
 */
public final class DtlsCertificate {

    private static final String COMMON_NAME = "CN=cascade-sfu";
    private static final Duration VALID_BEFORE_NOW = Duration.ofDays(30);
    private static final Duration VALID_AFTER_NOW = Duration.ofDays(365);
    private static final SignatureAndHashAlgorithm ECDSA_SHA256 =
        SignatureAndHashAlgorithm.getInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa);

    private final byte[] certificateDer;
    private final AsymmetricKeyParameter privateKey;
    private final String fingerprintSha256;

    private DtlsCertificate(byte[] certificateDer, AsymmetricKeyParameter privateKey) {
        this.certificateDer = certificateDer;
        this.privateKey = privateKey;
        this.fingerprintSha256 = fingerprint("sha-256", certificateDer);
    }

    /** A fresh P-256 key and a self-signed certificate, CN=cascade-sfu, valid 30 days back to one year ahead. */
    public static DtlsCertificate generate() {
        return generatePem().certificate;
    }

    /** File names of the certificate and key that {@link #loadOrCreate} keeps in its directory. */
    public static final String CERTIFICATE_FILE = "dtls-certificate.pem";
    public static final String KEY_FILE = "dtls-key.pem";
    /** A kept certificate is replaced this long before it expires. */
    static final Duration RENEW_BEFORE_EXPIRY = Duration.ofDays(30);

    /**
     * The certificate kept in {@code dir} ({@value #CERTIFICATE_FILE}, {@value #KEY_FILE}), so that a node keeps its
     * identity (and fingerprint) across restarts; made and written there (the key readable by its owner only)
     * when there is none, or when the one there expires within 30 days.
     *
     * @throws IllegalArgumentException if the files are there but unreadable or do not belong together, or the
     *         directory cannot be written
     */
    public static DtlsCertificate loadOrCreate(Path dir) {
        Path cert = dir.resolve(CERTIFICATE_FILE);
        Path key = dir.resolve(KEY_FILE);
        if (Files.exists(cert) || Files.exists(key)) {
            DtlsCertificate kept = load(cert, key);
            X509CertificateHolder holder = readPem(cert, X509CertificateHolder.class, "a certificate");
            if (holder.getNotAfter().toInstant().isAfter(Instant.now().plus(RENEW_BEFORE_EXPIRY))) {
                return kept;
            }
        }
        Generated made = generatePem();
        try {
            Files.createDirectories(dir);
            writePrivate(key, made.keyPem);
            Files.writeString(cert, made.certificatePem, StandardCharsets.US_ASCII);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(dir + ": cannot keep the DTLS certificate there (" + e.getMessage()
                    + ")", e);
        }
        return made.certificate;
    }

    private static void writePrivate(Path file, String pem) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        }
        Files.writeString(tmp, pem, StandardCharsets.US_ASCII);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private record Generated(DtlsCertificate certificate, String certificatePem, String keyPem) {
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static Generated generatePem() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            KeyPair keyPair = generator.generateKeyPair();
            Instant now = Instant.now();
            X500Name name = new X500Name(COMMON_NAME);
            BigInteger serial = new BigInteger(63, new SecureRandom()).add(BigInteger.ONE);
            X509CertificateHolder holder = new JcaX509v3CertificateBuilder(name, serial,
                Date.from(now.minus(VALID_BEFORE_NOW)), Date.from(now.plus(VALID_AFTER_NOW)), name, keyPair.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate()));
            byte[] der = holder.getEncoded();
            byte[] pkcs8 = keyPair.getPrivate().getEncoded();
            return new Generated(new DtlsCertificate(der, PrivateKeyFactory.createKey(pkcs8)),
                    pem("CERTIFICATE", der), pem("PRIVATE KEY", pkcs8));
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot generate the DTLS certificate", e);
        }
    }

    /**
     * Loads a certificate and its EC private key (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY", unencrypted).
     *
     * @throws IllegalArgumentException if a file cannot be read, holds no such object, or the key does not
     *         belong to the certificate
     */
    public static DtlsCertificate load(Path certPem, Path keyPem) {
        X509CertificateHolder holder = readPem(certPem, X509CertificateHolder.class, "a certificate");
        Object keyObject = readPem(keyPem, Object.class, "a private key");
        PrivateKeyInfo keyInfo;
        if (keyObject instanceof PEMKeyPair pair) {
            keyInfo = pair.getPrivateKeyInfo();
        } else if (keyObject instanceof PrivateKeyInfo info) {
            keyInfo = info;
        } else {
            throw new IllegalArgumentException(keyPem + ": does not contain an unencrypted private key"
                + " (PRIVATE KEY or EC PRIVATE KEY), found " + keyObject.getClass().getSimpleName());
        }
        try {
            AsymmetricKeyParameter privateKey = PrivateKeyFactory.createKey(keyInfo);
            AsymmetricKeyParameter publicKey = PublicKeyFactory.createKey(holder.getSubjectPublicKeyInfo());
            if (!(privateKey instanceof ECPrivateKeyParameters ecPrivate)
                || !(publicKey instanceof ECPublicKeyParameters ecPublic)) {
                throw new IllegalArgumentException(keyPem + ": only ECDSA keys are supported");
            }
            if (!ecPrivate.getParameters().getG().multiply(ecPrivate.getD()).normalize().equals(ecPublic.getQ().normalize())) {
                throw new IllegalArgumentException(keyPem + ": private key does not match the certificate " + certPem);
            }
            return new DtlsCertificate(holder.getEncoded(), privateKey);
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae) {
                throw iae;
            }
            throw new IllegalArgumentException(keyPem + ": unreadable key (" + e.getMessage() + ")", e);
        }
    }

    private static <T> T readPem(Path file, Class<T> type, String what) {
        Object object;
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
             PEMParser parser = new PEMParser(reader)) {
            object = parser.readObject();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(file + ": cannot read " + what + " (" + e.getMessage() + ")", e);
        }
        if (object == null || !type.isInstance(object)) {
            throw new IllegalArgumentException(file + ": does not contain " + what + " in PEM format");
        }
        return type.cast(object);
    }

    /** "AB:CD:..." uppercase hex of the SHA-256 of the DER certificate, as in SDP a=fingerprint:sha-256. */
    public String fingerprintSha256() {
        return fingerprintSha256;
    }

    /** Fingerprint with another SDP hash name (sha-1, sha-256, sha-384, sha-512). */
    public String fingerprint(String algorithm) {
        return fingerprint(algorithm, certificateDer);
    }

    /** A copy of the DER-encoded certificate. */
    public byte[] certificateDer() {
        return certificateDer.clone();
    }

    /** The JCA digest name for an SDP fingerprint hash name (RFC 8122), or null if not supported. */
    static String digestName(String sdpAlgorithm) {
        return switch (sdpAlgorithm.toLowerCase(Locale.ROOT)) {
            case "sha-1" -> "SHA-1";
            case "sha-256" -> "SHA-256";
            case "sha-384" -> "SHA-384";
            case "sha-512" -> "SHA-512";
            default -> null;
        };
    }

    static String fingerprint(String sdpAlgorithm, byte[] der) {
        String digest = digestName(sdpAlgorithm);
        if (digest == null) {
            throw new IllegalArgumentException("unsupported fingerprint algorithm: " + sdpAlgorithm);
        }
        byte[] hash;
        try {
            hash = MessageDigest.getInstance(digest).digest(der);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        StringBuilder sb = new StringBuilder(hash.length * 3);
        for (int i = 0; i < hash.length; i++) {
            if (i > 0) {
                sb.append(':');
            }
            sb.append(Character.toUpperCase(Character.forDigit((hash[i] >> 4) & 0xF, 16)));
            sb.append(Character.toUpperCase(Character.forDigit(hash[i] & 0xF, 16)));
        }
        return sb.toString();
    }

    /** The credentials BouncyCastle signs the handshake with, for one connection. */
    TlsCredentialedSigner signer(TlsContext context, BcTlsCrypto crypto) throws IOException {
        TlsCertificate tlsCertificate = crypto.createCertificate(certificateDer);
        return new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, privateKey,
            new Certificate(new TlsCertificate[] {tlsCertificate}), ECDSA_SHA256);
    }
}

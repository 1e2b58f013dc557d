package io.cascadesfu.core.dtls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DtlsCertificateTest {

    @TempDir
    Path dir;

    @Test
    void generatedCertificateIsSelfSignedP256WithSdpFingerprint() throws Exception {
        DtlsCertificate cert = DtlsCertificate.generate();
        X509Certificate x509 = (X509Certificate) CertificateFactory.getInstance("X.509")
            .generateCertificate(new ByteArrayInputStream(cert.certificateDer()));
        assertEquals("CN=cascade-sfu", x509.getSubjectX500Principal().getName());
        x509.verify(x509.getPublicKey());
        x509.checkValidity();
        assertEquals("SHA256withECDSA", x509.getSigAlgName());
        long days = (x509.getNotAfter().getTime() - x509.getNotBefore().getTime()) / 86_400_000L;
        assertTrue(days >= 394 && days <= 396, "validity days " + days);

        String expected = HexFormat.ofDelimiter(":").withUpperCase()
            .formatHex(MessageDigest.getInstance("SHA-256").digest(cert.certificateDer()));
        assertEquals(expected, cert.fingerprintSha256());
        assertEquals(32 * 3 - 1, cert.fingerprintSha256().length());
        assertNotEquals(cert.fingerprintSha256(), DtlsCertificate.generate().fingerprintSha256());
    }

    @Test
    void aStateDirectoryKeepsTheNodesCertificateAcrossRestarts() throws Exception {
        Path state = dir.resolve("state");
        DtlsCertificate first = DtlsCertificate.loadOrCreate(state);
        assertTrue(Files.exists(state.resolve(DtlsCertificate.CERTIFICATE_FILE)));
        assertEquals(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"),
            Files.getPosixFilePermissions(state.resolve(DtlsCertificate.KEY_FILE)), "the key is its owner's alone");
        DtlsCertificate again = DtlsCertificate.loadOrCreate(state);
        assertEquals(first.fingerprintSha256(), again.fingerprintSha256(), "the same identity after a restart");
        // It still handshakes: the key read back belongs to the certificate.
        DtlsSessionTest.assertHandshakeSucceeds(again, DtlsCertificate.generate());

        Files.writeString(state.resolve(DtlsCertificate.KEY_FILE), "not a key");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> DtlsCertificate.loadOrCreate(state));
        assertTrue(e.getMessage().contains(DtlsCertificate.KEY_FILE), e.getMessage());
    }

    @Test
    void loadsPemFilesAndKeepsTheFingerprint() throws Exception {
        DtlsCertificate original = DtlsCertificate.generate();
        // Write a certificate with a fresh key, both through the JDK's own encoders.
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair other = generator.generateKeyPair();
        Path cert = write("cert.pem", "CERTIFICATE", original.certificateDer());
        Path wrongKey = write("wrong.pem", "PRIVATE KEY", other.getPrivate().getEncoded());
        IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class,
            () -> DtlsCertificate.load(cert, wrongKey));
        assertTrue(mismatch.getMessage().contains("does not match"), mismatch.getMessage());
    }

    @Test
    void loadsMatchingPkcs8KeyAndCertificateAndHandshakesWithThem() throws Exception {
        Path certFile = dir.resolve("c.pem");
        Path keyFile = dir.resolve("k.pem");
        DtlsCertificateTestSupport.writeFreshPair(certFile, keyFile);
        DtlsCertificate loaded = DtlsCertificate.load(certFile, keyFile);
        String fingerprint = loaded.fingerprintSha256();
        assertEquals(fingerprint, DtlsCertificate.load(certFile, keyFile).fingerprintSha256());
        DtlsSessionTest.assertHandshakeSucceeds(loaded, DtlsCertificate.generate());
    }

    @Test
    void rejectsBadFilesWithClearMessages() throws Exception {
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a pem file\n");
        Path missing = dir.resolve("missing.pem");
        Path cert = write("cert.pem", "CERTIFICATE", DtlsCertificate.generate().certificateDer());
        IllegalArgumentException e1 = assertThrows(IllegalArgumentException.class, () -> DtlsCertificate.load(garbage, garbage));
        assertTrue(e1.getMessage().contains("garbage.pem"), e1.getMessage());
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> DtlsCertificate.load(missing, missing));
        assertTrue(e2.getMessage().contains("missing.pem"), e2.getMessage());
        IllegalArgumentException e3 = assertThrows(IllegalArgumentException.class, () -> DtlsCertificate.load(cert, cert));
        assertTrue(e3.getMessage().contains("private key"), e3.getMessage());
    }

    private Path write(String name, String type, byte[] der) throws Exception {
        String pem = "-----BEGIN " + type + "-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
            + "\n-----END " + type + "-----\n";
        return Files.writeString(dir.resolve(name), pem);
    }
}

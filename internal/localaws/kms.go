package localaws

import (
	"net/http"
	"time"
)

// STUB: owned by the KMS helper, who replaces this file. The signatures below are the
// contract the S3 handlers and the replication engine code against.

// kmsRegion holds one account's keys and aliases in one region.
type kmsRegion struct {
	keys    map[string]*kmsKey // by key ID (UUID)
	aliases map[string]string  // alias name ("alias/x") -> key ID
}

// kmsKey is a symmetric KMS key.
type kmsKey struct {
	id, arn, account, region string
	created                  time.Time
	description              string
	enabled                  bool
	pendingDeletion          bool
	deletionDate             time.Time
	rotation                 bool
	policyDoc                string
	material                 []byte
}

func (s *Server) serveKMS(c *call) {
	c.fail(errf(http.StatusNotImplemented, "NotImplemented", "kms"))
}

// kmsResolve finds a key by key ID, key ARN, alias name or alias ARN as a caller in
// callerAccount sees it in region (a bare ID or alias resolves in the caller's account).
// It does not authorize. Errors carry KMS codes (NotFoundException). The caller holds s.mu.
func (s *Server) kmsResolve(callerAccount, region, keyID string) (*kmsKey, *apiError) {
	return nil, errf(http.StatusBadRequest, "NotFoundException", "stub")
}

// kmsGenerateDataKey authorizes p for kms:GenerateDataKey on the key (with
// kms:ViaService=via when via is not "", and kms:EncryptionContext:* from ec), checks the key
// state, and returns a fresh 256-bit data key and its ciphertext blob bound to ec.
// The caller holds s.mu.
func (s *Server) kmsGenerateDataKey(p *principal, region, keyID string, ec map[string]string, via string) (plaintext, blob []byte, keyARN string, err *apiError) {
	return nil, nil, "", errf(http.StatusBadRequest, "NotFoundException", "stub")
}

// kmsEncrypt is kms:Encrypt as p. The caller holds s.mu.
func (s *Server) kmsEncrypt(p *principal, region, keyID string, ec map[string]string, plaintext []byte, via string) (blob []byte, keyARN string, err *apiError) {
	return nil, "", errf(http.StatusBadRequest, "NotFoundException", "stub")
}

// kmsDecrypt is kms:Decrypt as p of a blob produced by this server; the key comes from the
// blob, ec must match the context it was encrypted with. The caller holds s.mu.
func (s *Server) kmsDecrypt(p *principal, region string, blob []byte, ec map[string]string, via string) (plaintext []byte, keyARN string, err *apiError) {
	return nil, "", errf(http.StatusBadRequest, "InvalidCiphertextException", "stub")
}

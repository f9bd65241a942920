package localaws

import (
	"crypto/rand"
	"net/http"
)

// KMS API: the cryptographic operations S3 and the provisioner call (Encrypt, Decrypt,
// GenerateDataKey*, ReEncrypt).

// kmsCheckAlgorithm accepts the one algorithm of symmetric keys.
func kmsCheckAlgorithm(field, alg string) *apiError {
	switch alg {
	case "", "SYMMETRIC_DEFAULT":
		return nil
	case "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE":
		return errf(http.StatusBadRequest, "InvalidKeyUsageException",
			"The encryption algorithm %s is not compatible with the type of key spec SYMMETRIC_DEFAULT", alg)
	}
	return errf(http.StatusBadRequest, "ValidationException",
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]", alg, field)
}

func kmsDryRun() *apiError {
	return errf(http.StatusPreconditionFailed, "DryRunOperationException",
		"The request would have succeeded, but the DryRun option is set.")
}

// kmsRecipient is the Nitro Enclaves attestation parameter of Decrypt and GenerateDataKey.
type kmsRecipient struct {
	KeyEncryptionAlgorithm string
	AttestationDocument    []byte
}

func kmsNoRecipient(r *kmsRecipient) *apiError {
	if r != nil {
		return errf(http.StatusBadRequest, "UnsupportedOperationException",
			"localaws does not simulate Nitro Enclaves attestation (Recipient)")
	}
	return nil
}

type kmsEncryptIn struct {
	KeyId               string
	Plaintext           []byte
	EncryptionContext   map[string]string
	EncryptionAlgorithm string
	DryRun              bool
}

func (s *Server) kmsAPIEncrypt(c *call, body []byte) (any, *apiError) {
	var in kmsEncryptIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if in.KeyId == "" {
		return nil, kmsRequired("keyId")
	}
	if in.Plaintext == nil {
		return nil, kmsRequired("plaintext")
	}
	if len(in.Plaintext) < 1 || len(in.Plaintext) > 4096 {
		return nil, kmsValidation("plaintext", "Member must have length between 1 and 4096")
	}
	if err := kmsCheckAlgorithm("encryptionAlgorithm", in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	k, err := s.kmsKeyForCrypto(c.p, c.region, in.KeyId, "kms:Encrypt", in.EncryptionContext, c.requestContext(), "")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, kmsDryRun()
	}
	return map[string]any{
		"CiphertextBlob":      kmsSeal(k, in.EncryptionContext, in.Plaintext),
		"KeyId":               k.arn,
		"EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	}, nil
}

type kmsDecryptIn struct {
	CiphertextBlob      []byte
	EncryptionContext   map[string]string
	KeyId               *string
	EncryptionAlgorithm string
	DryRun              bool
	Recipient           *kmsRecipient
}

func kmsCheckBlob(field string, blob []byte) *apiError {
	if blob == nil {
		return kmsRequired(field)
	}
	if len(blob) < 1 || len(blob) > 6144 {
		return kmsValidation(field, "Member must have length between 1 and 6144")
	}
	return nil
}

func (s *Server) kmsAPIDecrypt(c *call, body []byte) (any, *apiError) {
	var in kmsDecryptIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if err := kmsCheckBlob("ciphertextBlob", in.CiphertextBlob); err != nil {
		return nil, err
	}
	if err := kmsCheckAlgorithm("encryptionAlgorithm", in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	if err := kmsNoRecipient(in.Recipient); err != nil {
		return nil, err
	}
	want := ""
	if in.KeyId != nil {
		want = *in.KeyId
	}
	k, pt, err := s.kmsOpenBlob(c.p, c.region, in.CiphertextBlob, in.EncryptionContext, "kms:Decrypt", want, c.requestContext(), "")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, kmsDryRun()
	}
	return map[string]any{"KeyId": k.arn, "Plaintext": pt, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

type kmsGenerateDataKeyIn struct {
	KeyId             string
	EncryptionContext map[string]string
	NumberOfBytes     *int32
	KeySpec           string
	DryRun            bool
	Recipient         *kmsRecipient
}

// kmsDataKeySize reads the data key length from KeySpec or NumberOfBytes (exactly one).
func kmsDataKeySize(in kmsGenerateDataKeyIn) (int, *apiError) {
	switch {
	case in.KeySpec != "" && in.NumberOfBytes != nil:
		return 0, errf(http.StatusBadRequest, "ValidationException", "Please specify either number of bytes or key spec.")
	case in.KeySpec == "AES_256":
		return 32, nil
	case in.KeySpec == "AES_128":
		return 16, nil
	case in.KeySpec != "":
		return 0, errf(http.StatusBadRequest, "ValidationException",
			"1 validation error detected: Value '%s' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]", in.KeySpec)
	case in.NumberOfBytes == nil:
		return 0, errf(http.StatusBadRequest, "ValidationException", "Please specify either number of bytes or key spec.")
	case *in.NumberOfBytes < 1 || *in.NumberOfBytes > 1024:
		return 0, kmsValidation("numberOfBytes", "Member must have value between 1 and 1024")
	}
	return int(*in.NumberOfBytes), nil
}

func (s *Server) kmsAPIGenerateDataKey(c *call, body []byte) (any, *apiError) {
	return s.kmsAPIDataKey(c, body, "GenerateDataKey", true)
}

func (s *Server) kmsAPIGenerateDataKeyWithoutPlaintext(c *call, body []byte) (any, *apiError) {
	return s.kmsAPIDataKey(c, body, "GenerateDataKeyWithoutPlaintext", false)
}

func (s *Server) kmsAPIDataKey(c *call, body []byte, op string, withPlaintext bool) (any, *apiError) {
	var in kmsGenerateDataKeyIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if in.KeyId == "" {
		return nil, kmsRequired("keyId")
	}
	n, err := kmsDataKeySize(in)
	if err != nil {
		return nil, err
	}
	if err := kmsNoRecipient(in.Recipient); err != nil {
		return nil, err
	}
	k, err := s.kmsKeyForCrypto(c.p, c.region, in.KeyId, "kms:"+op, in.EncryptionContext, c.requestContext(), "")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, kmsDryRun()
	}
	dataKey := make([]byte, n)
	_, _ = rand.Read(dataKey)
	out := map[string]any{"CiphertextBlob": kmsSeal(k, in.EncryptionContext, dataKey), "KeyId": k.arn}
	if withPlaintext {
		out["Plaintext"] = dataKey
	}
	return out, nil
}

type kmsReEncryptIn struct {
	CiphertextBlob                 []byte
	SourceEncryptionContext        map[string]string
	SourceKeyId                    *string
	DestinationKeyId               string
	DestinationEncryptionContext   map[string]string
	SourceEncryptionAlgorithm      string
	DestinationEncryptionAlgorithm string
	DryRun                         bool
}

func (s *Server) kmsAPIReEncrypt(c *call, body []byte) (any, *apiError) {
	var in kmsReEncryptIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if err := kmsCheckBlob("ciphertextBlob", in.CiphertextBlob); err != nil {
		return nil, err
	}
	if in.DestinationKeyId == "" {
		return nil, kmsRequired("destinationKeyId")
	}
	if err := kmsCheckAlgorithm("sourceEncryptionAlgorithm", in.SourceEncryptionAlgorithm); err != nil {
		return nil, err
	}
	if err := kmsCheckAlgorithm("destinationEncryptionAlgorithm", in.DestinationEncryptionAlgorithm); err != nil {
		return nil, err
	}
	want := ""
	if in.SourceKeyId != nil {
		want = *in.SourceKeyId
	}
	src, pt, err := s.kmsOpenBlob(c.p, c.region, in.CiphertextBlob, in.SourceEncryptionContext, "kms:ReEncryptFrom", want, c.requestContext(), "")
	if err != nil {
		return nil, err
	}
	dst, err := s.kmsKeyForCrypto(c.p, c.region, in.DestinationKeyId, "kms:ReEncryptTo", in.DestinationEncryptionContext, c.requestContext(), "")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, kmsDryRun()
	}
	return map[string]any{
		"CiphertextBlob":                 kmsSeal(dst, in.DestinationEncryptionContext, pt),
		"SourceKeyId":                    src.arn,
		"KeyId":                          dst.arn,
		"SourceEncryptionAlgorithm":      "SYMMETRIC_DEFAULT",
		"DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	}, nil
}

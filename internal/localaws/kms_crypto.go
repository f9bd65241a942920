package localaws

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
)

// Ciphertext blobs. Like KMS's, they are opaque to callers, name the key that made them
// (so Decrypt needs no KeyId), and are authenticated, so a blob altered in any byte, or
// opened with a different encryption context, fails with InvalidCiphertextException:
//
//	"LKMS" | version 1 | uint16 len(keyARN) | keyARN | 12-byte nonce | AES-256-GCM sealed data
//
// The AAD is everything before the nonce followed by the canonical encryption context, so
// the key reference cannot be swapped and the context is bound without being stored.

var kmsBlobMagic = []byte{'L', 'K', 'M', 'S', 1}

const kmsNonceSize = 12

// kmsSeal encrypts plaintext under k's material, bound to ec.
func kmsSeal(k *kmsKey, ec map[string]string, plaintext []byte) []byte {
	header := make([]byte, 0, len(kmsBlobMagic)+2+len(k.arn))
	header = append(header, kmsBlobMagic...)
	header = binary.BigEndian.AppendUint16(header, uint16(len(k.arn)))
	header = append(header, k.arn...)
	nonce := make([]byte, kmsNonceSize)
	_, _ = rand.Read(nonce)
	aead := kmsAEAD(k)
	out := append(append([]byte(nil), header...), nonce...)
	return aead.Seal(out, nonce, plaintext, kmsAAD(header, ec))
}

// kmsBlobKeyARN reads the key ARN a blob names, without authenticating it.
func kmsBlobKeyARN(blob []byte) (string, bool) {
	header, _, ok := kmsSplitBlob(blob)
	if !ok {
		return "", false
	}
	return string(header[len(kmsBlobMagic)+2:]), true
}

// kmsOpen authenticates and decrypts blob under k with ec.
func kmsOpen(k *kmsKey, ec map[string]string, blob []byte) ([]byte, bool) {
	header, rest, ok := kmsSplitBlob(blob)
	if !ok || len(rest) < kmsNonceSize {
		return nil, false
	}
	pt, err := kmsAEAD(k).Open(nil, rest[:kmsNonceSize], rest[kmsNonceSize:], kmsAAD(header, ec))
	if err != nil {
		return nil, false
	}
	return pt, true
}

func kmsSplitBlob(blob []byte) (header, rest []byte, ok bool) {
	n := len(kmsBlobMagic)
	if len(blob) < n+2 || !bytes.Equal(blob[:n], kmsBlobMagic) {
		return nil, nil, false
	}
	l := int(binary.BigEndian.Uint16(blob[n : n+2]))
	if len(blob) < n+2+l+kmsNonceSize+16 {
		return nil, nil, false
	}
	return blob[:n+2+l], blob[n+2+l:], true
}

// kmsAAD is the header followed by the encryption context in a canonical form: pairs sorted
// by key, each part length-prefixed, so that no two contexts encode alike.
func kmsAAD(header []byte, ec map[string]string) []byte {
	aad := append([]byte(nil), header...)
	for _, k := range sortedKeys(ec) {
		aad = binary.AppendUvarint(aad, uint64(len(k)))
		aad = append(aad, k...)
		aad = binary.AppendUvarint(aad, uint64(len(ec[k])))
		aad = append(aad, ec[k]...)
	}
	return aad
}

func kmsAEAD(k *kmsKey) cipher.AEAD {
	block, err := aes.NewCipher(k.material)
	if err != nil {
		panic("kms key material is not an AES key: " + err.Error()) // material is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("new GCM: " + err.Error())
	}
	return aead
}

package localaws

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// KMS in the simulator: symmetric keys per account and region, aliases, key policies that
// are authoritative the way KMS makes them (authz.ModeKMS), and authenticated ciphertext
// blobs bound to their encryption context. The S3 handlers and the replication engine
// use kmsResolve, kmsGenerateDataKey, kmsEncrypt and kmsDecrypt; the API handlers live in
// kms_api.go and the cryptography in kms_crypto.go.

// kmsRegion holds one account's keys and aliases in one region.
type kmsRegion struct {
	keys    map[string]*kmsKey // by key ID (UUID)
	aliases map[string]string  // alias name ("alias/x") -> key ID
	// aliasTimes records when each alias was created and last retargeted, for ListAliases.
	aliasTimes map[string][2]time.Time
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

	policy         *authz.Policy // policyDoc parsed; every KMS call is judged against it
	pendingDays    int32
	rotationPeriod int32 // days, when rotation is enabled
	rotationStart  time.Time
	tags           map[string]string
	multiRegion    bool
	awsManaged     bool // alias/aws/s3: KeyManager AWS
}

// keyState is the KeyState KMS reports.
func (k *kmsKey) keyState() string {
	switch {
	case k.pendingDeletion:
		return "PendingDeletion"
	case k.enabled:
		return "Enabled"
	}
	return "Disabled"
}

// usable reports the error KMS returns for a cryptographic operation on a key that is not
// Enabled, or nil.
func (k *kmsKey) usable() *apiError {
	switch {
	case k.pendingDeletion:
		return errf(http.StatusBadRequest, "KMSInvalidStateException", "%s is pending deletion.", k.arn)
	case !k.enabled:
		return errf(http.StatusBadRequest, "DisabledException", "%s is disabled.", k.arn)
	}
	return nil
}

// notPendingDeletion is the state check of management operations that KMS refuses on a
// key scheduled for deletion (EnableKey, CreateAlias, TagResource...).
func (k *kmsKey) notPendingDeletion() *apiError {
	if k.pendingDeletion {
		return errf(http.StatusBadRequest, "KMSInvalidStateException", "%s is pending deletion.", k.arn)
	}
	return nil
}

// awsS3Alias is the alias of the AWS managed key S3 uses for SSE-KMS without a key ID.
const awsS3Alias = "alias/aws/s3"

// defaultKeyPolicy is the policy KMS gives a key created without one: the account's IAM
// policies decide.
func defaultKeyPolicy(account string) string {
	return `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` +
		account + `:root"},"Action":"kms:*","Resource":"*"}]}`
}

// awsManagedS3KeyPolicy is the policy of aws/s3: any principal of the account may use the
// key, but only through S3 in the key's region, which is why AWS managed keys cannot serve
// cross-account replication.
func awsManagedS3KeyPolicy(account, region string) string {
	return `{"Version":"2012-10-17","Id":"auto-s3-2","Statement":[` +
		`{"Sid":"Allow access through S3 for all principals in the account that are authorized to use S3","Effect":"Allow","Principal":{"AWS":"*"},` +
		`"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*",` +
		`"Condition":{"StringEquals":{"kms:CallerAccount":"` + account + `","kms:ViaService":"s3.` + region + `.amazonaws.com"}}},` +
		`{"Sid":"Allow direct access to key metadata to the account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},` +
		`"Action":["kms:Describe*","kms:Get*","kms:List*"],"Resource":"*"}]}`
}

// kmsRegionOf returns (creating) the KMS state of account in region. The caller holds s.mu.
func (s *Server) kmsRegionOf(account, region string) *kmsRegion {
	k := account + "/" + region
	reg := s.kms[k]
	if reg == nil {
		reg = &kmsRegion{keys: map[string]*kmsKey{}, aliases: map[string]string{}, aliasTimes: map[string][2]time.Time{}}
		s.kms[k] = reg
	}
	if reg.aliasTimes == nil {
		reg.aliasTimes = map[string][2]time.Time{}
	}
	s.kmsPurge(reg)
	return reg
}

// kmsPurge deletes the keys whose waiting period has ended, with their aliases, as KMS
// does when a scheduled deletion comes due. The caller holds s.mu.
func (s *Server) kmsPurge(reg *kmsRegion) {
	now := s.now()
	for id, k := range reg.keys {
		if k.pendingDeletion && !now.Before(k.deletionDate) {
			delete(reg.keys, id)
			for name, target := range reg.aliases {
				if target == id {
					delete(reg.aliases, name)
					delete(reg.aliasTimes, name)
				}
			}
		}
	}
}

// newKMSKey creates and stores a key. The caller holds s.mu.
func (s *Server) newKMSKey(account, region string, multiRegion bool) *kmsKey {
	id := newUUID()
	if multiRegion {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		id = "mrk-" + hex.EncodeToString(b)
	}
	material := make([]byte, 32)
	_, _ = rand.Read(material)
	k := &kmsKey{
		id:          id,
		arn:         "arn:aws:kms:" + region + ":" + account + ":key/" + id,
		account:     account,
		region:      region,
		created:     s.now(),
		enabled:     true,
		material:    material,
		tags:        map[string]string{},
		multiRegion: multiRegion,
	}
	s.kmsRegionOf(account, region).keys[id] = k
	return k
}

// setPolicy stores a key policy document that has already been validated.
func (k *kmsKey) setPolicy(doc string, p *authz.Policy) {
	k.policyDoc, k.policy = doc, p
}

// kmsAWSManagedS3Key returns the account's aws/s3 key in region, creating it on first use
// as AWS does. The caller holds s.mu.
func (s *Server) kmsAWSManagedS3Key(account, region string) *kmsKey {
	reg := s.kmsRegionOf(account, region)
	if id, ok := reg.aliases[awsS3Alias]; ok {
		if k := reg.keys[id]; k != nil {
			return k
		}
	}
	k := s.newKMSKey(account, region, false)
	k.awsManaged = true
	k.description = "Default key that protects my S3 objects when no other key is defined"
	doc := awsManagedS3KeyPolicy(account, region)
	p, err := authz.Parse([]byte(doc))
	if err != nil {
		panic("aws/s3 key policy does not parse: " + err.Error()) // a constant: a bug here, not input
	}
	k.setPolicy(doc, p)
	reg.aliases[awsS3Alias] = k.id
	reg.aliasTimes[awsS3Alias] = [2]time.Time{k.created, k.created}
	return k
}

var (
	kmsUUIDPattern = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
)

// kmsRef is a KeyId parameter taken apart.
type kmsRef struct {
	account, region string
	alias           string // "alias/x" when the reference names an alias
	keyID           string // when it names a key
}

// parseKMSRef interprets a KeyId: key ID, key ARN, alias name or alias ARN. A bare ID or
// alias resolves in the caller's account and the request's region.
func parseKMSRef(callerAccount, region, ref string) (kmsRef, *apiError) {
	if ref == "" {
		return kmsRef{}, kmsValidation("keyId", "Member must have length greater than or equal to 1")
	}
	if strings.HasPrefix(ref, "arn:") {
		parts := strings.SplitN(ref, ":", 6)
		if len(parts) != 6 || parts[1] != "aws" || parts[2] != "kms" || !accountIDPattern.MatchString(parts[4]) {
			return kmsRef{}, errf(http.StatusBadRequest, "NotFoundException", "Invalid arn %s", ref)
		}
		r := kmsRef{account: parts[4], region: parts[3]}
		switch {
		case strings.HasPrefix(parts[5], "key/"):
			r.keyID = strings.TrimPrefix(parts[5], "key/")
		case strings.HasPrefix(parts[5], "alias/"):
			r.alias = parts[5]
		default:
			return kmsRef{}, errf(http.StatusBadRequest, "NotFoundException", "Invalid arn %s", ref)
		}
		return r, nil
	}
	if strings.HasPrefix(ref, "alias/") {
		return kmsRef{account: callerAccount, region: region, alias: ref}, nil
	}
	return kmsRef{account: callerAccount, region: region, keyID: ref}, nil
}

// kmsResolve finds a key by key ID, key ARN, alias name or alias ARN as a caller in
// callerAccount sees it in region (a bare ID or alias resolves in the caller's account).
// It does not authorize. Errors carry KMS codes (NotFoundException). The caller holds s.mu.
//
// "alias/aws/s3" (or its ARN) creates the account's AWS managed S3 key on first use, as
// AWS does when S3 first encrypts with it.
func (s *Server) kmsResolve(callerAccount, region, keyID string) (*kmsKey, *apiError) {
	k, _, err := s.kmsResolveRef(callerAccount, region, keyID)
	return k, err
}

// kmsResolveRef is kmsResolve that also returns the alias name when keyID named an alias,
// for the kms:RequestAlias condition key. The caller holds s.mu.
func (s *Server) kmsResolveRef(callerAccount, region, keyID string) (*kmsKey, string, *apiError) {
	r, err := parseKMSRef(callerAccount, region, keyID)
	if err != nil {
		return nil, "", err
	}
	if r.region != region {
		// Keys are regional: a KMS endpoint knows only its own region's keys.
		return nil, "", errf(http.StatusBadRequest, "NotFoundException", "Key '%s' does not exist", keyID)
	}
	if _, ok := s.accounts[r.account]; !ok {
		return nil, "", errf(http.StatusBadRequest, "NotFoundException", "Key '%s' does not exist", keyID)
	}
	reg := s.kmsRegionOf(r.account, r.region)
	if r.alias != "" {
		id, ok := reg.aliases[r.alias]
		if !ok && r.alias == awsS3Alias {
			return s.kmsAWSManagedS3Key(r.account, r.region), r.alias, nil
		}
		if !ok || reg.keys[id] == nil {
			return nil, "", errf(http.StatusBadRequest, "NotFoundException", "Alias %s is not found.",
				"arn:aws:kms:"+r.region+":"+r.account+":"+r.alias)
		}
		return reg.keys[id], r.alias, nil
	}
	if !kmsUUIDPattern.MatchString(r.keyID) {
		return nil, "", errf(http.StatusBadRequest, "NotFoundException", "Invalid keyId '%s'", keyID)
	}
	k := reg.keys[r.keyID]
	if k == nil {
		return nil, "", errf(http.StatusBadRequest, "NotFoundException", "Key '%s' does not exist",
			"arn:aws:kms:"+r.region+":"+r.account+":key/"+r.keyID)
	}
	return k, "", nil
}

// kmsAliasesOf lists the aliases that point at k, sorted. The caller holds s.mu.
func (s *Server) kmsAliasesOf(k *kmsKey) []string {
	reg := s.kms[k.account+"/"+k.region]
	if reg == nil {
		return nil
	}
	var out []string
	for _, name := range sortedKeys(reg.aliases) {
		if reg.aliases[name] == k.id {
			out = append(out, name)
		}
	}
	return out
}

// kmsAuthorizingAliases lists the aliases that authorization sees on k: those pointing at
// it whose last change is older than the propagation window. AWS: "It might take up to
// five minutes for tag and alias changes to affect KMS key authorization" (KMS Developer
// Guide, abac). The caller holds s.mu.
func (s *Server) kmsAuthorizingAliases(k *kmsKey) []string {
	reg := s.kms[k.account+"/"+k.region]
	var out []string
	for _, name := range s.kmsAliasesOf(k) {
		if changed := reg.aliasTimes[name][1]; s.now().Before(changed.Add(s.opts.PropagationWindow)) {
			continue
		}
		out = append(out, name)
	}
	return out
}

// kmsUse describes one authorization of a KMS operation on a key.
type kmsUse struct {
	p      *principal
	action string              // "kms:Encrypt"
	base   map[string][]string // the request's own keys (aws:SecureTransport)
	ec     map[string]string   // encryption context, for cryptographic operations
	crypto bool                // a cryptographic operation: kms:EncryptionContext* keys apply
	alias  string              // the alias the caller named, for kms:RequestAlias
	via    string              // kms:ViaService, for calls S3 makes on the caller's behalf
	// ciphertext words the denial as KMS does when the key came from a ciphertext blob.
	ciphertext bool
	// local marks operations KMS does not allow across accounts.
	local bool
}

// kmsAuthorizeKey decides u on key k with the key policy authoritative (authz.ModeKMS), and
// returns AccessDeniedException worded as KMS words it. The caller holds s.mu.
func (s *Server) kmsAuthorizeKey(k *kmsKey, u kmsUse) *apiError {
	who := u.p.arn
	if u.p.service != "" {
		who = u.p.service
	}
	on := "resource: " + k.arn
	if u.ciphertext {
		on = "the resource associated with this ciphertext"
	}
	if u.local && u.p.account != k.account {
		return errf(http.StatusBadRequest, "AccessDeniedException",
			"User: %s is not authorized to perform: %s on %s because %s cannot be used on a KMS key in a different AWS account",
			who, u.action, on, u.action)
	}
	ctx := map[string][]string{}
	for key, v := range u.base {
		ctx[key] = v
	}
	if u.p.service == "" {
		ctx["kms:CallerAccount"] = []string{u.p.account}
	}
	ctx["kms:KeySpec"] = []string{"SYMMETRIC_DEFAULT"}
	ctx["kms:KeyUsage"] = []string{"ENCRYPT_DECRYPT"}
	if aliases := s.kmsAuthorizingAliases(k); len(aliases) > 0 {
		ctx["kms:ResourceAliases"] = aliases
	}
	for tk, tv := range k.tags {
		ctx["aws:ResourceTag/"+tk] = []string{tv}
	}
	if u.alias != "" {
		ctx["kms:RequestAlias"] = []string{u.alias}
	}
	if u.via != "" {
		ctx["kms:ViaService"] = []string{u.via}
	}
	if u.crypto && len(u.ec) > 0 {
		keys := sortedKeys(u.ec)
		ctx["kms:EncryptionContextKeys"] = keys
		for _, ek := range keys {
			ctx["kms:EncryptionContext:"+ek] = []string{u.ec[ek]}
		}
	}
	d := s.decide(authRequest{
		p:               u.p,
		mode:            authz.ModeKMS,
		action:          u.action,
		resource:        k.arn,
		resourcePolicy:  k.policy,
		resourceAccount: k.account,
		context:         ctx,
	})
	if d.Allowed {
		return nil
	}
	return errf(http.StatusBadRequest, "AccessDeniedException",
		"User: %s is not authorized to perform: %s on %s because %s", who, u.action, on, d.Reason)
}

// kmsAuthorizeAccount decides an operation whose IAM resource is not a key (CreateKey,
// ListKeys, ListAliases, the alias side of alias operations): identity policies only, in
// the caller's account. The caller holds s.mu.
func (s *Server) kmsAuthorizeAccount(p *principal, action, resource string, ctx map[string][]string) *apiError {
	d := s.decide(authRequest{
		p:               p,
		mode:            authz.ModeStandard,
		action:          action,
		resource:        resource,
		resourceAccount: p.account,
		context:         ctx,
	})
	if d.Allowed {
		return nil
	}
	who := p.arn
	if p.service != "" {
		who = p.service
	}
	return errf(http.StatusBadRequest, "AccessDeniedException",
		"User: %s is not authorized to perform: %s on resource: %s because %s", who, action, resource, d.Reason)
}

// s3ServiceContext is the request context of the calls S3 makes to KMS on a caller's
// behalf: S3 reaches KMS over TLS.
func s3ServiceContext() map[string][]string {
	return map[string][]string{"aws:SecureTransport": {"true"}}
}

// kmsGenerateDataKey authorizes p for kms:GenerateDataKey on the key (with
// kms:ViaService=via when via is not "", and kms:EncryptionContext:* from ec), checks the key
// state, and returns a fresh 256-bit data key and its ciphertext blob bound to ec.
// The caller holds s.mu.
func (s *Server) kmsGenerateDataKey(p *principal, region, keyID string, ec map[string]string, via string) (plaintext, blob []byte, keyARN string, err *apiError) {
	k, aerr := s.kmsKeyForCrypto(p, region, keyID, "kms:GenerateDataKey", ec, s3ServiceContext(), via)
	if aerr != nil {
		return nil, nil, "", aerr
	}
	plaintext = make([]byte, 32)
	_, _ = rand.Read(plaintext)
	return plaintext, kmsSeal(k, ec, plaintext), k.arn, nil
}

// kmsEncrypt is kms:Encrypt as p. The caller holds s.mu.
func (s *Server) kmsEncrypt(p *principal, region, keyID string, ec map[string]string, plaintext []byte, via string) (blob []byte, keyARN string, err *apiError) {
	k, aerr := s.kmsKeyForCrypto(p, region, keyID, "kms:Encrypt", ec, s3ServiceContext(), via)
	if aerr != nil {
		return nil, "", aerr
	}
	return kmsSeal(k, ec, plaintext), k.arn, nil
}

// kmsDecrypt is kms:Decrypt as p of a blob produced by this server; the key comes from the
// blob, ec must match the context it was encrypted with. The caller holds s.mu.
func (s *Server) kmsDecrypt(p *principal, region string, blob []byte, ec map[string]string, via string) (plaintext []byte, keyARN string, err *apiError) {
	k, pt, aerr := s.kmsOpenBlob(p, region, blob, ec, "kms:Decrypt", "", s3ServiceContext(), via)
	if aerr != nil {
		return nil, "", aerr
	}
	return pt, k.arn, nil
}

// kmsKeyForCrypto resolves keyID for a cryptographic operation, authorizes it with the
// encryption context, and checks that the key is Enabled. The caller holds s.mu.
func (s *Server) kmsKeyForCrypto(p *principal, region, keyID, action string, ec map[string]string, base map[string][]string, via string) (*kmsKey, *apiError) {
	k, alias, err := s.kmsResolveRef(p.account, region, keyID)
	if err != nil {
		return nil, err
	}
	if err := s.kmsAuthorizeKey(k, kmsUse{p: p, action: action, base: base, ec: ec, crypto: true, alias: alias, via: via}); err != nil {
		return nil, err
	}
	if err := k.usable(); err != nil {
		return nil, err
	}
	return k, nil
}

// kmsOpenBlob decrypts a ciphertext blob for action (kms:Decrypt or kms:ReEncryptFrom):
// the key comes from the blob; when wantKeyID is set it must name the same key; p must be
// authorized on that key with ec; the key must be Enabled; and the blob must authenticate
// under the key with exactly ec. The caller holds s.mu.
func (s *Server) kmsOpenBlob(p *principal, region string, blob []byte, ec map[string]string, action, wantKeyID string, base map[string][]string, via string) (*kmsKey, []byte, *apiError) {
	keyARN, ok := kmsBlobKeyARN(blob)
	if !ok {
		return nil, nil, errf(http.StatusBadRequest, "InvalidCiphertextException", "The ciphertext is not a KMS ciphertext blob")
	}
	k, _, rerr := s.kmsResolveRef(p.account, region, keyARN)
	if rerr != nil {
		who := p.arn
		if p.service != "" {
			who = p.service
		}
		// KMS does not reveal whether the key of a ciphertext exists.
		return nil, nil, errf(http.StatusBadRequest, "AccessDeniedException",
			"User: %s is not authorized to perform: %s on the resource associated with this ciphertext because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access", who, action)
	}
	alias := ""
	if wantKeyID != "" {
		want, a, err := s.kmsResolveRef(p.account, region, wantKeyID)
		if err != nil {
			return nil, nil, err
		}
		if want != k {
			return nil, nil, errf(http.StatusBadRequest, "IncorrectKeyException",
				"The key ID in the request does not identify a KMS key that can perform this operation.")
		}
		alias = a
	}
	if err := s.kmsAuthorizeKey(k, kmsUse{p: p, action: action, base: base, ec: ec, crypto: true, alias: alias, via: via, ciphertext: true}); err != nil {
		return nil, nil, err
	}
	if err := k.usable(); err != nil {
		return nil, nil, err
	}
	pt, ok := kmsOpen(k, ec, blob)
	if !ok {
		return nil, nil, errf(http.StatusBadRequest, "InvalidCiphertextException",
			"The ciphertext does not authenticate under its key with the given encryption context")
	}
	return k, pt, nil
}

// serveKMS dispatches a JSON 1.1 request by its X-Amz-Target.
func (s *Server) serveKMS(c *call) {
	serveTarget(s, c, "KMS", "TrentService.", kmsHandlers, "UnknownOperationException", c.writeJSON)
}

// serveTarget dispatches a request of an AWS JSON service (KMS, SQS) by its X-Amz-Target,
// prefix followed by the operation, to handlers; a target with another prefix or an
// operation not in handlers fails with the service's unknownCode.
func serveTarget[H ~func(*Server, *call, []byte) (any, *apiError)](s *Server, c *call, service, prefix string, handlers map[string]H, unknownCode string, write func(any)) {
	target := c.r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, prefix)
	h := handlers[op]
	if !ok || h == nil {
		c.fail(errf(http.StatusBadRequest, unknownCode, "localaws %s does not support operation %q", service, target))
		return
	}
	s.serveRPC(c, op, rpcHandler(h), write)
}

// kmsDecode unmarshals a request body into v; an empty body is an empty input.
func kmsDecode(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errf(http.StatusBadRequest, "SerializationException", "decode request: %v", err)
	}
	return nil
}

// kmsValidation is KMS's ValidationException for one field constraint.
func kmsValidation(field, constraint string) *apiError {
	return constraintError("ValidationException", field, constraint)
}

// kmsRequired is the ValidationException of a missing required member.
func kmsRequired(field string) *apiError {
	return requiredError("ValidationException", field)
}

// constraintError is the message KMS and CloudWatch (one request validation framework)
// give a member that breaks a constraint, under the service's code.
func constraintError(code, field, constraint string) *apiError {
	return errf(http.StatusBadRequest, code,
		"1 validation error detected: Value at '%s' failed to satisfy constraint: %s", field, constraint)
}

// requiredError is constraintError's message for a required member left out.
func requiredError(code, field string) *apiError {
	return errf(http.StatusBadRequest, code,
		"1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
}

// kmsTime renders a timestamp as KMS does in JSON: epoch seconds.
func kmsTime(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

package localaws

import (
	"net/http"
	"regexp"
	"strings"
	"time"
)

// KMS API: aliases. Kept apart from the key lifecycle because aliases have their own
// authorization (both the alias and the target key are checked) and their own listing.

var kmsAliasPattern = regexp.MustCompile(`^[a-zA-Z0-9:/_-]+$`)

// kmsCheckAliasName applies KMS's alias name rules, with its error codes.
func kmsCheckAliasName(name string) *apiError {
	if name == "" {
		return kmsRequired("aliasName")
	}
	if len(name) > 256 {
		return kmsValidation("aliasName", "Member must have length less than or equal to 256")
	}
	if !strings.HasPrefix(name, "alias/") || name == "alias/" {
		return errf(http.StatusBadRequest, "ValidationException", "Invalid identifier")
	}
	if strings.HasPrefix(name, "alias/aws/") {
		return errf(http.StatusBadRequest, "NotAuthorizedException",
			"The alias/aws/ prefix is reserved for AWS managed keys")
	}
	if strings.Contains(strings.TrimPrefix(name, "alias/"), ":") {
		return errf(http.StatusBadRequest, "ValidationException", "%s contains invalid characters for an alias", name)
	}
	if !kmsAliasPattern.MatchString(name) {
		return errf(http.StatusBadRequest, "ValidationException",
			"1 validation error detected: Value '%s' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$", name)
	}
	return nil
}

func kmsAliasARN(region, account, name string) string {
	return "arn:aws:kms:" + region + ":" + account + ":" + name
}

type kmsAliasIn struct {
	AliasName   string
	TargetKeyId string
}

// kmsAuthorizeAlias checks op on the alias itself (identity policies, resource = the alias
// ARN) and on each key the alias points at or will point at (key policies).
func (s *Server) kmsAuthorizeAlias(c *call, op, name string, keys ...*kmsKey) *apiError {
	ctx := c.requestContext()
	ctx["kms:CallerAccount"] = []string{c.p.account}
	if err := s.kmsAuthorizeAccount(c.p, "kms:"+op, kmsAliasARN(c.region, c.p.account, name), ctx); err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.kmsAuthorizeKey(k, kmsUse{p: c.p, action: "kms:" + op, base: c.requestContext(), local: true}); err != nil {
			return err
		}
	}
	return nil
}

// kmsAliasTarget resolves the TargetKeyId of CreateAlias/UpdateAlias: a key ID or key ARN
// of the caller's account, never another alias.
func (s *Server) kmsAliasTarget(c *call, target string) (*kmsKey, *apiError) {
	if target == "" {
		return nil, kmsRequired("targetKeyId")
	}
	if strings.HasPrefix(target, "alias/") || strings.Contains(target, ":alias/") {
		return nil, errf(http.StatusBadRequest, "ValidationException", "Aliases must refer to keys. Not aliases")
	}
	k, _, err := s.kmsResolveRef(c.p.account, c.region, target)
	return k, err
}

func (s *Server) kmsCreateAlias(c *call, body []byte) (any, *apiError) {
	var in kmsAliasIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if err := kmsCheckAliasName(in.AliasName); err != nil {
		return nil, err
	}
	k, err := s.kmsAliasTarget(c, in.TargetKeyId)
	if err != nil {
		return nil, err
	}
	if err := s.kmsAuthorizeAlias(c, "CreateAlias", in.AliasName, k); err != nil {
		return nil, err
	}
	if err := k.notPendingDeletion(); err != nil {
		return nil, err
	}
	reg := s.kmsRegionOf(c.p.account, c.region)
	if _, ok := reg.aliases[in.AliasName]; ok {
		return nil, errf(http.StatusBadRequest, "AlreadyExistsException", "An alias with the name %s already exists",
			kmsAliasARN(c.region, c.p.account, in.AliasName))
	}
	reg.aliases[in.AliasName] = k.id
	now := s.now()
	reg.aliasTimes[in.AliasName] = [2]time.Time{now, now}
	return nil, nil
}

// kmsExistingAlias returns the key an alias of the caller's account points at.
func (s *Server) kmsExistingAlias(c *call, name string) (*kmsRegion, *kmsKey, *apiError) {
	reg := s.kmsRegionOf(c.p.account, c.region)
	id, ok := reg.aliases[name]
	if !ok || reg.keys[id] == nil {
		return nil, nil, errf(http.StatusBadRequest, "NotFoundException", "Alias %s is not found.",
			kmsAliasARN(c.region, c.p.account, name))
	}
	return reg, reg.keys[id], nil
}

func (s *Server) kmsUpdateAlias(c *call, body []byte) (any, *apiError) {
	var in kmsAliasIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if err := kmsCheckAliasName(in.AliasName); err != nil {
		return nil, err
	}
	reg, old, err := s.kmsExistingAlias(c, in.AliasName)
	if err != nil {
		return nil, err
	}
	k, err := s.kmsAliasTarget(c, in.TargetKeyId)
	if err != nil {
		return nil, err
	}
	if err := s.kmsAuthorizeAlias(c, "UpdateAlias", in.AliasName, old, k); err != nil {
		return nil, err
	}
	if err := k.notPendingDeletion(); err != nil {
		return nil, err
	}
	reg.aliases[in.AliasName] = k.id
	t := reg.aliasTimes[in.AliasName]
	t[1] = s.now()
	reg.aliasTimes[in.AliasName] = t
	return nil, nil
}

func (s *Server) kmsDeleteAlias(c *call, body []byte) (any, *apiError) {
	var in kmsAliasIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if err := kmsCheckAliasName(in.AliasName); err != nil {
		return nil, err
	}
	reg, k, err := s.kmsExistingAlias(c, in.AliasName)
	if err != nil {
		return nil, err
	}
	if err := s.kmsAuthorizeAlias(c, "DeleteAlias", in.AliasName, k); err != nil {
		return nil, err
	}
	delete(reg.aliases, in.AliasName)
	delete(reg.aliasTimes, in.AliasName)
	return nil, nil
}

type kmsListAliasesIn struct {
	KeyId *string
	kmsPageIn
}

type kmsAliasEntry struct {
	AliasName       string
	AliasArn        string
	TargetKeyId     string
	CreationDate    float64
	LastUpdatedDate float64
}

func (s *Server) kmsListAliases(c *call, body []byte) (any, *apiError) {
	var in kmsListAliasesIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	ctx := c.requestContext()
	ctx["kms:CallerAccount"] = []string{c.p.account}
	if err := s.kmsAuthorizeAccount(c.p, "kms:ListAliases", "*", ctx); err != nil {
		return nil, err
	}
	only := ""
	if in.KeyId != nil {
		if strings.HasPrefix(*in.KeyId, "alias/") || strings.Contains(*in.KeyId, ":alias/") {
			return nil, errf(http.StatusBadRequest, "NotFoundException", "Invalid keyId '%s'", *in.KeyId)
		}
		k, _, err := s.kmsResolveRef(c.p.account, c.region, *in.KeyId)
		if err != nil {
			return nil, err
		}
		if k.account != c.p.account {
			return nil, errf(http.StatusBadRequest, "AccessDeniedException",
				"User: %s is not authorized to perform: kms:ListAliases on resource: %s because ListAliases lists only the caller's own aliases", c.p.arn, k.arn)
		}
		only = k.id
	}
	reg := s.kmsRegionOf(c.p.account, c.region)
	var names []string
	for _, n := range sortedKeys(reg.aliases) {
		if only == "" || reg.aliases[n] == only {
			names = append(names, n)
		}
	}
	from, to, next, err := kmsPage(names, in.kmsPageIn, 100, 50)
	if err != nil {
		return nil, err
	}
	list := make([]kmsAliasEntry, 0, to-from)
	for _, n := range names[from:to] {
		t := reg.aliasTimes[n]
		list = append(list, kmsAliasEntry{
			AliasName:       n,
			AliasArn:        kmsAliasARN(c.region, c.p.account, n),
			TargetKeyId:     reg.aliases[n],
			CreationDate:    kmsTime(t[0]),
			LastUpdatedDate: kmsTime(t[1]),
		})
	}
	return kmsPageOut(map[string]any{"Aliases": list}, next), nil
}

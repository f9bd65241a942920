package localaws

import (
	"encoding/base64"
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"
)

// Listings: ListObjectsV2, ListObjects (V1, for older tools) and ListObjectVersions, with
// prefix, delimiter (common prefixes), max-keys, pagination and encoding-type=url.

type s3ListBucketResult struct {
	XMLName               xml.Name         `xml:"ListBucketResult"`
	Xmlns                 string           `xml:"xmlns,attr"`
	Name                  string           `xml:"Name"`
	Prefix                string           `xml:"Prefix"`
	Marker                *string          `xml:"Marker"`
	NextMarker            string           `xml:"NextMarker,omitempty"`
	StartAfter            string           `xml:"StartAfter,omitempty"`
	ContinuationToken     string           `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string           `xml:"NextContinuationToken,omitempty"`
	KeyCount              *int             `xml:"KeyCount"`
	MaxKeys               int              `xml:"MaxKeys"`
	Delimiter             string           `xml:"Delimiter,omitempty"`
	EncodingType          string           `xml:"EncodingType,omitempty"`
	IsTruncated           bool             `xml:"IsTruncated"`
	Contents              []s3ObjectEntry  `xml:"Contents"`
	CommonPrefixes        []s3CommonPrefix `xml:"CommonPrefixes"`
}

type s3ObjectEntry struct {
	Key          string   `xml:"Key"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	Size         int64    `xml:"Size"`
	Owner        *s3Owner `xml:"Owner"`
	StorageClass string   `xml:"StorageClass"`
}

type s3CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// s3ListParams are the query parameters listings share.
type s3ListParams struct {
	prefix, delimiter string
	maxKeys           int
	encode            bool
}

func s3ParseListParams(q url.Values) (s3ListParams, *apiError) {
	p := s3ListParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), maxKeys: 1000}
	if mk := q.Get("max-keys"); mk != "" {
		n, err := strconv.Atoi(mk)
		if err != nil || n < 0 {
			return p, errInvalidArgument("Provided max-keys not an integer or within integer range", "max-keys", mk)
		}
		if n < p.maxKeys {
			p.maxKeys = n
		}
	}
	switch et := q.Get("encoding-type"); et {
	case "":
	case "url":
		p.encode = true
	default:
		return p, errInvalidArgument("Invalid Encoding Method specified in Request", "encoding-type", et)
	}
	return p, nil
}

// enc applies encoding-type=url to a value S3 would encode.
func (p s3ListParams) enc(s string) string {
	if !p.encode {
		return s
	}
	// S3 leaves "/" as is and encodes spaces as %20.
	return strings.NewReplacer("+", "%20", "%2F", "/").Replace(url.QueryEscape(s))
}

// s3ListItem is one key or common prefix of a listing page.
type s3ListItem struct {
	key    string
	v      *objectVersion // nil for a common prefix
	prefix string
}

// s3ListCurrent pages through the current, non-deleted objects of b after marker (a key,
// or a common prefix that was returned last). It returns the page and whether more follow.
func s3ListCurrent(b *bucket, p s3ListParams, marker string) (items []s3ListItem, truncated bool) {
	seen := map[string]bool{}
	for _, k := range s3SortedKeys(b) {
		if !strings.HasPrefix(k, p.prefix) || k <= marker ||
			p.delimiter != "" && strings.HasSuffix(marker, p.delimiter) && strings.HasPrefix(k, marker) {
			continue
		}
		versions := b.objects[k]
		latest := versions[len(versions)-1]
		if latest.isDeleteMarker {
			continue
		}
		item := s3ListItem{key: k, v: latest}
		if p.delimiter != "" {
			if i := strings.Index(k[len(p.prefix):], p.delimiter); i >= 0 {
				cp := k[:len(p.prefix)+i+len(p.delimiter)]
				if seen[cp] {
					continue
				}
				seen[cp] = true
				item = s3ListItem{key: cp, prefix: cp}
			}
		}
		if len(items) == p.maxKeys {
			return items, true
		}
		items = append(items, item)
	}
	return items, false
}

func (s *Server) s3ListBucketResult(c *call, b *bucket, p s3ListParams, items []s3ListItem, truncated, fetchOwner bool) s3ListBucketResult {
	out := s3ListBucketResult{Xmlns: s3NS, Name: b.name, Prefix: p.enc(p.prefix), MaxKeys: p.maxKeys,
		Delimiter: p.enc(p.delimiter), IsTruncated: truncated}
	if p.encode {
		out.EncodingType = "url"
	}
	for _, it := range items {
		if it.v == nil {
			out.CommonPrefixes = append(out.CommonPrefixes, s3CommonPrefix{Prefix: p.enc(it.prefix)})
			continue
		}
		e := s3ObjectEntry{Key: p.enc(it.key), LastModified: s3Time(it.v.lastModified), ETag: it.v.etag, Size: it.v.size,
			StorageClass: s3ListStorageClass(it.v)}
		if fetchOwner {
			e.Owner = ownerOf(it.v.owner)
		}
		out.Contents = append(out.Contents, e)
	}
	return out
}

func s3ListStorageClass(v *objectVersion) string {
	if v.storageClass == "" {
		return "STANDARD"
	}
	return v.storageClass
}

// s3ListBucket is s3AuthorizedBucket for a listing: action is s3:ListBucket or
// s3:ListBucketVersions, judged with the s3:prefix key of the request.
func (s *Server) s3ListBucket(c *call, req *s3Request, action, prefix string) *bucket {
	return s.s3AuthorizedBucket(c, req, action, map[string][]string{"s3:prefix": {prefix}})
}

// s3ListObjectsV2 is ListObjectsV2. Continuation tokens are opaque (the last key or common
// prefix returned, base64-encoded).
func (s *Server) s3ListObjectsV2(c *call, req *s3Request) {
	p, aerr := s3ParseListParams(req.q)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	marker := req.q.Get("start-after")
	token := req.q.Get("continuation-token")
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			c.fail(errInvalidArgument("The continuation token provided is incorrect", "continuation-token", token))
			return
		}
		marker = string(raw)
	}
	b := s.s3ListBucket(c, req, "s3:ListBucket", p.prefix)
	if b == nil {
		return
	}
	defer s.mu.Unlock()
	items, truncated := s3ListCurrent(b, p, marker)
	out := s.s3ListBucketResult(c, b, p, items, truncated, req.q.Get("fetch-owner") == "true")
	n := len(items)
	out.KeyCount = &n
	out.ContinuationToken = token
	out.StartAfter = p.enc(req.q.Get("start-after"))
	if truncated {
		out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(items[len(items)-1].key))
	}
	c.writeXML(out)
}

// s3ListObjects is the original ListObjects (V1), which some tools still call.
func (s *Server) s3ListObjects(c *call, req *s3Request) {
	p, aerr := s3ParseListParams(req.q)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	b := s.s3ListBucket(c, req, "s3:ListBucket", p.prefix)
	if b == nil {
		return
	}
	defer s.mu.Unlock()
	marker := req.q.Get("marker")
	items, truncated := s3ListCurrent(b, p, marker)
	out := s.s3ListBucketResult(c, b, p, items, truncated, true)
	m := p.enc(marker)
	out.Marker = &m
	if truncated && p.delimiter != "" {
		out.NextMarker = p.enc(items[len(items)-1].key)
	}
	c.writeXML(out)
}

type s3ListVersionsResult struct {
	XMLName             xml.Name         `xml:"ListVersionsResult"`
	Xmlns               string           `xml:"xmlns,attr"`
	Name                string           `xml:"Name"`
	Prefix              string           `xml:"Prefix"`
	KeyMarker           string           `xml:"KeyMarker"`
	VersionIDMarker     string           `xml:"VersionIdMarker"`
	NextKeyMarker       string           `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string           `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int              `xml:"MaxKeys"`
	Delimiter           string           `xml:"Delimiter,omitempty"`
	EncodingType        string           `xml:"EncodingType,omitempty"`
	IsTruncated         bool             `xml:"IsTruncated"`
	Entries             []any            // s3VersionEntry and s3DeleteMarkerEntry, interleaved in S3's order
	CommonPrefixes      []s3CommonPrefix `xml:"CommonPrefixes"`
}

type s3VersionEntry struct {
	XMLName      xml.Name `xml:"Version"`
	Key          string   `xml:"Key"`
	VersionID    string   `xml:"VersionId"`
	IsLatest     bool     `xml:"IsLatest"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	Size         int64    `xml:"Size"`
	Owner        *s3Owner `xml:"Owner"`
	StorageClass string   `xml:"StorageClass"`
}

type s3DeleteMarkerEntry struct {
	XMLName      xml.Name `xml:"DeleteMarker"`
	Key          string   `xml:"Key"`
	VersionID    string   `xml:"VersionId"`
	IsLatest     bool     `xml:"IsLatest"`
	LastModified string   `xml:"LastModified"`
	Owner        *s3Owner `xml:"Owner"`
}

// s3ListObjectVersions is ListObjectVersions: every version and delete marker, keys in
// order, each key's versions newest first.
func (s *Server) s3ListObjectVersions(c *call, req *s3Request) {
	p, aerr := s3ParseListParams(req.q)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	keyMarker, vidMarker := req.q.Get("key-marker"), req.q.Get("version-id-marker")
	if vidMarker != "" && keyMarker == "" {
		c.fail(errInvalidArgument("A version-id marker cannot be specified without a key marker.", "version-id-marker", vidMarker))
		return
	}
	b := s.s3ListBucket(c, req, "s3:ListBucketVersions", p.prefix)
	if b == nil {
		return
	}
	defer s.mu.Unlock()
	out := s3ListVersionsResult{Xmlns: s3NS, Name: b.name, Prefix: p.enc(p.prefix), KeyMarker: p.enc(keyMarker),
		VersionIDMarker: vidMarker, MaxKeys: p.maxKeys, Delimiter: p.enc(p.delimiter)}
	if p.encode {
		out.EncodingType = "url"
	}
	count := 0
	seen := map[string]bool{}
	var lastKey, lastVID string
	full := func() bool {
		if count == p.maxKeys {
			out.IsTruncated = true
			out.NextKeyMarker, out.NextVersionIDMarker = p.enc(lastKey), lastVID
			return true
		}
		return false
	}
keys:
	for _, k := range s3SortedKeys(b) {
		if !strings.HasPrefix(k, p.prefix) || k < keyMarker || k == keyMarker && vidMarker == "" {
			continue
		}
		if p.delimiter != "" {
			if i := strings.Index(k[len(p.prefix):], p.delimiter); i >= 0 {
				cp := k[:len(p.prefix)+i+len(p.delimiter)]
				if seen[cp] || strings.HasSuffix(keyMarker, p.delimiter) && strings.HasPrefix(k, keyMarker) {
					continue
				}
				if full() {
					break keys
				}
				seen[cp] = true
				out.CommonPrefixes = append(out.CommonPrefixes, s3CommonPrefix{Prefix: p.enc(cp)})
				count++
				lastKey, lastVID = cp, ""
				continue
			}
		}
		versions := b.objects[k]
		skipping := k == keyMarker
		for i := len(versions) - 1; i >= 0; i-- {
			v := versions[i]
			if skipping {
				if v.versionID == vidMarker {
					skipping = false
				}
				continue
			}
			if full() {
				break keys
			}
			latest := i == len(versions)-1
			if v.isDeleteMarker {
				out.Entries = append(out.Entries, s3DeleteMarkerEntry{Key: p.enc(k), VersionID: v.versionID, IsLatest: latest,
					LastModified: s3Time(v.lastModified), Owner: ownerOf(v.owner)})
			} else {
				out.Entries = append(out.Entries, s3VersionEntry{Key: p.enc(k), VersionID: v.versionID, IsLatest: latest,
					LastModified: s3Time(v.lastModified), ETag: v.etag, Size: v.size, Owner: ownerOf(v.owner), StorageClass: s3ListStorageClass(v)})
			}
			count++
			lastKey, lastVID = k, v.versionID
		}
	}
	c.writeXML(out)
}

package spec

import "slices"

// Regions lists the commercial (aws partition) region codes s3crr accepts,
// including the recent ones. s3crr builds aws-partition ARNs only
// (arn:aws:...), so GovCloud (us-gov-*), China (cn-*) and the European
// Sovereign Cloud are left out rather than half supported.
//
// Opt-in regions (af-south-1, ap-east-1, me-south-1, ...) must be enabled in
// both accounts; preflight finds out, validation cannot.
var Regions = []string{
	"af-south-1",
	"ap-east-1", "ap-east-2",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
	"ca-central-1", "ca-west-1",
	"eu-central-1", "eu-central-2",
	"eu-north-1",
	"eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3",
	"il-central-1",
	"me-central-1", "me-south-1",
	"mx-central-1",
	"sa-east-1",
	"us-east-1", "us-east-2",
	"us-west-1", "us-west-2",
}

// IsKnownRegion reports whether code is one of Regions.
func IsKnownRegion(code string) bool {
	return slices.Contains(Regions, code)
}

// StorageClasses lists the replica storage classes S3 replication accepts for a
// general purpose bucket in a Region.
var StorageClasses = []string{
	"STANDARD",
	"REDUCED_REDUNDANCY",
	"STANDARD_IA",
	"ONEZONE_IA",
	"INTELLIGENT_TIERING",
	"GLACIER",
	"DEEP_ARCHIVE",
	"GLACIER_IR",
}

// unsupportedStorageClasses are S3 storage class names that exist but cannot
// be a replication destination here, with the reason shown to the user.
var unsupportedStorageClasses = map[string]string{
	"OUTPOSTS":                 "OUTPOSTS is the S3 on Outposts class; replicas in a Region bucket cannot use it",
	"EXPRESS_ONEZONE":          "EXPRESS_ONEZONE is only for directory buckets, which do not support replication",
	"SNOW":                     "SNOW is only for Snow Family devices, which do not take part in replication",
	"FSX_OPENZFS":              "FSX_OPENZFS is for FSx-attached access points, not replication destinations",
	"FSX_ONTAP":                "FSX_ONTAP is for FSx-attached access points, not replication destinations",
	"AWS_BACKUP_WARM":          "AWS_BACKUP_WARM is used by AWS Backup only",
	"AWS_BACKUP_LOW_COST_WARM": "AWS_BACKUP_LOW_COST_WARM is used by AWS Backup only",
}

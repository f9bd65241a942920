package localdeploy

import (
	"errors"

	"github.com/aws/smithy-go"
)

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

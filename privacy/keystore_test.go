package privacy_test

import (
	"testing"

	"github.com/healthledger/healthledger/privacy"
	"github.com/healthledger/healthledger/privacy/keystoretest"
)

func TestMemoryKeyStoreConformance(t *testing.T) {
	keystoretest.Run(t, func(t *testing.T) privacy.KeyStore { return privacy.NewMemoryKeyStore() })
}

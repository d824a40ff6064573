module github.com/healthledger/healthledger/ledger/trillianstore

go 1.26.0

replace github.com/healthledger/healthledger => ../..

require (
	github.com/google/trillian v1.8.0
	github.com/healthledger/healthledger v0.0.0-00010101000000-000000000000
	github.com/transparency-dev/merkle v0.0.2
	golang.org/x/mod v0.42.0
	golang.org/x/sync v0.23.0
	google.golang.org/grpc v1.83.2
)

require (
	github.com/tink-crypto/tink-go/v2 v2.9.0 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/net v0.59.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260825221802-da73d73af1c5 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

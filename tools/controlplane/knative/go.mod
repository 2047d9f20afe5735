// The CustomResourceDefinitions of Knative Serving (serving.knative.dev: Service,
// Configuration, Revision, Route), which Serverless components are rendered as. No binary
// is built from this module: the control-plane build copies the YAML it ships.
module github.com/ome-operator/ome/tools/controlplane/knative

go 1.26.0

require knative.dev/serving v0.51.0

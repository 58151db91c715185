// Command validate reads `helm template` output on stdin and fails unless
// every document decodes strictly (no unknown or duplicate fields, no wrong
// types) into the Go type Kubernetes itself uses for its apiVersion and kind,
// and the objects agree with each other (a Service's target ports exist on
// the pods it selects, a Deployment's selector matches its pods).
//
// It exists because the usual tools need what the test machine lacks:
// `kubectl --validate` asks a live API server for its schema, and kubeconform
// downloads schemas from GitHub. The typed structs are the schema, from the
// Go module proxy.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

func main() {
	count, err := validateStream(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "validate: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("validate: %d documents, all valid\n", count)
}

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err) // the scheme is built from compiled-in types only
		}
	}
	return scheme
}

// document is one object with where it came from, for messages.
type document struct {
	source string
	object runtime.Object
}

func validateStream(input io.Reader) (int, error) {
	scheme := newScheme()
	reader := k8syaml.NewYAMLReader(bufio.NewReader(input))
	var documents []document
	var problems []string
	for index := 1; ; index++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("reading document %d: %w", index, err)
		}
		source := sourceOf(raw, index)
		if isEmpty(raw) {
			continue
		}
		object, err := decode(scheme, raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", source, err))
			continue
		}
		documents = append(documents, document{source, object})
	}
	if len(documents) == 0 && len(problems) == 0 {
		return 0, errors.New("no documents on stdin")
	}
	problems = append(problems, crossCheck(documents)...)
	if len(problems) > 0 {
		return 0, errors.New(strings.Join(problems, "\n  "))
	}
	return len(documents), nil
}

func decode(scheme *runtime.Scheme, raw []byte) (runtime.Object, error) {
	var meta metav1.TypeMeta
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	gvk := meta.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, errors.New("no apiVersion or kind")
	}
	object, err := scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("%s is not a kind this check knows (add its Go type to newScheme)", gvk)
	}
	if err := yaml.UnmarshalStrict(raw, object); err != nil {
		return nil, fmt.Errorf("%s: %w", gvk.Kind, err)
	}
	accessor, err := metaOf(object)
	if err != nil {
		return nil, err
	}
	if msgs := validation.IsDNS1123Subdomain(accessor.GetName()); len(msgs) > 0 {
		return nil, fmt.Errorf("%s name %q: %s", gvk.Kind, accessor.GetName(), strings.Join(msgs, "; "))
	}
	for key, value := range accessor.GetLabels() {
		msgs := append(validation.IsQualifiedName(key), validation.IsValidLabelValue(value)...)
		if len(msgs) > 0 {
			return nil, fmt.Errorf("%s label %s=%q: %s", gvk.Kind, key, value, strings.Join(msgs, "; "))
		}
	}
	return object, nil
}

func metaOf(object runtime.Object) (metav1.Object, error) {
	accessor, ok := object.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", object)
	}
	return accessor, nil
}

// sourceOf names a document by helm's "# Source:" comment, else by position.
func sourceOf(raw []byte, index int) string {
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return fmt.Sprintf("document %d (%s)", index, rest)
		}
	}
	return fmt.Sprintf("document %d", index)
}

func isEmpty(raw []byte) bool {
	for _, line := range bytes.Split(raw, []byte("\n")) {
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) > 0 && trimmed[0] != '#' && string(trimmed) != "---" {
			return false
		}
	}
	return true
}

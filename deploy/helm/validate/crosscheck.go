package main

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// crossCheck finds what decodes fine but cannot work: references between the
// chart's objects that a typo would break silently in a real cluster.
func crossCheck(documents []document) []string {
	var problems []string
	var deployments []*appsv1.Deployment
	var services []*corev1.Service
	secrets, claims := map[string]*corev1.Secret{}, map[string]bool{}
	for _, doc := range documents {
		switch object := doc.object.(type) {
		case *appsv1.Deployment:
			deployments = append(deployments, object)
		case *corev1.Service:
			services = append(services, object)
		case *corev1.Secret:
			secrets[object.Name] = object
		case *corev1.PersistentVolumeClaim:
			claims[object.Name] = true
		}
	}
	for _, deployment := range deployments {
		problems = append(problems, checkDeployment(deployment, secrets, claims)...)
	}
	for _, service := range services {
		problems = append(problems, checkService(service, deployments)...)
	}
	for _, doc := range documents {
		switch object := doc.object.(type) {
		case *policyv1.PodDisruptionBudget:
			if !selectsAny(object.Spec.Selector, deployments) {
				problems = append(problems, fmt.Sprintf("PodDisruptionBudget %s selects no pods of this chart", object.Name))
			}
		case *monitoringv1.ServiceMonitor:
			problems = append(problems, checkServiceMonitor(object, services)...)
		}
	}
	return problems
}

func checkDeployment(deployment *appsv1.Deployment, secrets map[string]*corev1.Secret, claims map[string]bool) []string {
	var problems []string
	name := "Deployment " + deployment.Name
	selector, err := metav1.LabelSelectorAsSelector(deployment.Spec.Selector)
	if err != nil || deployment.Spec.Selector == nil || selector.Empty() {
		problems = append(problems, name+": no usable selector")
	} else if !selector.Matches(labels.Set(deployment.Spec.Template.Labels)) {
		problems = append(problems, name+": its selector does not match its pod template's labels")
	}
	pod := deployment.Spec.Template.Spec
	for _, container := range pod.Containers {
		if container.Image == "" {
			problems = append(problems, fmt.Sprintf("%s: container %s has no image", name, container.Name))
		}
		ports := map[string]bool{}
		for _, port := range container.Ports {
			for _, msg := range validation.IsValidPortName(port.Name) {
				problems = append(problems, fmt.Sprintf("%s: port name %q: %s", name, port.Name, msg))
			}
			ports[port.Name] = true
		}
		for _, probe := range []*corev1.Probe{container.StartupProbe, container.ReadinessProbe, container.LivenessProbe} {
			if probe != nil && probe.HTTPGet != nil && !portExists(probe.HTTPGet.Port, ports) {
				problems = append(problems, fmt.Sprintf("%s: a probe names port %s, which container %s does not have", name, probe.HTTPGet.Port.String(), container.Name))
			}
		}
		for _, env := range container.Env {
			if env.ValueFrom == nil || env.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := env.ValueFrom.SecretKeyRef
			secret, ours := secrets[ref.Name]
			optional := ref.Optional != nil && *ref.Optional
			// A Secret not rendered here is the operator's own (existingSecret).
			if ours && !optional && !hasKey(secret, ref.Key) {
				problems = append(problems, fmt.Sprintf("%s: %s reads key %s, which Secret %s does not have", name, env.Name, ref.Key, ref.Name))
			}
		}
	}
	for _, volume := range pod.Volumes {
		if claim := volume.PersistentVolumeClaim; claim != nil && !claims[claim.ClaimName] {
			// An existingClaim is made outside the chart; say which, so it is a choice.
			fmt.Printf("validate: %s mounts claim %s, not made by this chart (existingClaim)\n", name, claim.ClaimName)
		}
	}
	if deployment.Spec.Replicas != nil && *deployment.Spec.Replicas > 1 && deployment.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		problems = append(problems, name+": several replicas with the Recreate strategy (every rollout is an outage)")
	}
	return problems
}

func checkService(service *corev1.Service, deployments []*appsv1.Deployment) []string {
	var problems []string
	selector := labels.SelectorFromSet(service.Spec.Selector)
	var matched []*appsv1.Deployment
	for _, deployment := range deployments {
		if len(service.Spec.Selector) > 0 && selector.Matches(labels.Set(deployment.Spec.Template.Labels)) {
			matched = append(matched, deployment)
		}
	}
	if len(matched) == 0 {
		return []string{fmt.Sprintf("Service %s selects no pods of this chart", service.Name)}
	}
	for _, port := range service.Spec.Ports {
		for _, deployment := range matched {
			if !podHasPort(deployment, port.TargetPort) {
				problems = append(problems, fmt.Sprintf("Service %s port %s targets %s, which Deployment %s's pods do not expose", service.Name, port.Name, port.TargetPort.String(), deployment.Name))
			}
		}
	}
	return problems
}

func checkServiceMonitor(monitor *monitoringv1.ServiceMonitor, services []*corev1.Service) []string {
	selector, err := metav1.LabelSelectorAsSelector(&monitor.Spec.Selector)
	if err != nil {
		return []string{fmt.Sprintf("ServiceMonitor %s: %v", monitor.Name, err)}
	}
	var problems []string
	for _, endpoint := range monitor.Spec.Endpoints {
		found := false
		for _, service := range services {
			if !selector.Matches(labels.Set(service.Labels)) {
				continue
			}
			for _, port := range service.Spec.Ports {
				found = found || port.Name == endpoint.Port
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("ServiceMonitor %s scrapes port %q, which no Service it selects has", monitor.Name, endpoint.Port))
		}
	}
	return problems
}

func selectsAny(labelSelector *metav1.LabelSelector, deployments []*appsv1.Deployment) bool {
	selector, err := metav1.LabelSelectorAsSelector(labelSelector)
	if err != nil || selector.Empty() {
		return false
	}
	for _, deployment := range deployments {
		if selector.Matches(labels.Set(deployment.Spec.Template.Labels)) {
			return true
		}
	}
	return false
}

func podHasPort(deployment *appsv1.Deployment, target intstr.IntOrString) bool {
	for _, container := range deployment.Spec.Template.Spec.Containers {
		for _, port := range container.Ports {
			if (target.Type == intstr.String && port.Name == target.StrVal) ||
				(target.Type == intstr.Int && port.ContainerPort == target.IntVal) {
				return true
			}
		}
	}
	return false
}

func portExists(port intstr.IntOrString, names map[string]bool) bool {
	return port.Type == intstr.Int || names[port.StrVal]
}

func hasKey(secret *corev1.Secret, key string) bool {
	_, inData := secret.Data[key]
	_, inString := secret.StringData[key]
	return inData || inString
}

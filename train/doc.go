// Package train fits networks with Gorgonia: its engine (Graph, losses, SGD and Adam) builds a network's
// expression graph over a batch, returns every layer's activations from one forward pass, differentiates
// any scalar loss and restricts training to chosen neurons with parameter masks, for every repair; and it
// trains new networks of a chosen architecture and activation (birdnn train, Fit) on a CSV dataset or by
// distilling a teacher (Distil), with samples concentrated where the teacher's decision changes and
// around its counterexamples.
package train

// Copyright The otelcol-llt Authors
// SPDX-License-Identifier: Apache-2.0

// Package prompts holds the built-in prompts that lltload sends: two clearly different
// categories, short programming snippets and questions ("code") and everyday English
// sentences ("prose"), so that the telemetry of a run shows two kinds of requests.
package prompts

// Category names a kind of prompt.
type Category string

// The categories of built-in prompts.
const (
	Code  Category = "code"
	Prose Category = "prose"
)

// Categories lists every category, in the order lltload draws them from.
var Categories = []Category{Code, Prose}

// CodePrompts are short programming snippets and questions.
var CodePrompts = []string{
	"func add(a, b int) int { return a + b } // explain",
	"def fib(n): return n if n < 2 else fib(n-1) + fib(n-2)  # what is wrong with this?",
	"for (int i = 0; i < n; i++) sum += a[i]; // rewrite with a pointer",
	"SELECT name, COUNT(*) FROM users GROUP BY name HAVING COUNT(*) > 1; -- explain",
	"const xs = [3, 1, 2].sort(); console.log(xs); // what does it print?",
	"fn main() { let v = vec![1, 2, 3]; println!(\"{:?}\", v.iter().sum::<i32>()); }",
	"git rebase -i HEAD~3 # what does this command do?",
	"x = [i * i for i in range(10) if i % 2 == 0]  # explain this list comprehension",
	"if err != nil { return fmt.Errorf(\"open: %w\", err) } // why %w?",
	"grep -rn TODO --include='*.go' . | wc -l  # explain",
	"public static int max(int[] a) { int m = a[0]; for (int x : a) m = Math.max(m, x); return m; }",
	"#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 7 / 2); }  /* output? */",
	"docker run --rm -p 8080:80 nginx  # what does -p do?",
	"type Stack[T any] struct{ items []T } // write Push and Pop",
	"async function get(u) { const r = await fetch(u); return r.json(); } // add error handling",
	"while read -r line; do echo \"${line^^}\"; done < in.txt  # explain",
	"def is_prime(n): return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))",
	"map<string, int> m; m[\"a\"]++; cout << m[\"b\"]; // what is printed?",
	"ch := make(chan int, 1); ch <- 1; ch <- 2 // what happens here?",
	"awk -F, '{ s += $3 } END { print s / NR }' data.csv  # explain",
}

// ProsePrompts are everyday English sentences.
var ProsePrompts = []string{
	"The morning train was late again, so I walked to work along the river.",
	"Tell me a short story about a cat who learns to bake bread.",
	"What should I pack for a weekend trip to the mountains in early spring?",
	"My neighbour plays the piano every evening and I have started to enjoy it.",
	"Describe the smell of rain on a warm summer afternoon.",
	"Give me three ideas for a quiet birthday dinner at home.",
	"The library on the corner is closing next month after sixty years.",
	"How do I politely decline an invitation to a wedding?",
	"Write a thank-you note to a teacher who helped me learn to read.",
	"We planted tomatoes and basil in the garden this weekend.",
	"What is a good way to start running if I have never done it before?",
	"The old bridge creaks whenever a heavy truck drives across it.",
	"Suggest a name for a small cafe that sells soup and fresh bread.",
	"My sister moved to a new city and misses her friends back home.",
	"Explain why the sky looks orange at sunset.",
	"Please summarise the plot of a detective novel in two sentences.",
	"The children built a snowman with a carrot nose and a red scarf.",
	"How long should I boil an egg for a soft yolk?",
	"Write a short poem about autumn leaves falling in the park.",
	"The market was busy today, and the strawberries sold out by noon.",
}

// List returns the prompts of category c, or nil for an unknown category.
func List(c Category) []string {
	switch c {
	case Code:
		return CodePrompts
	case Prose:
		return ProsePrompts
	}
	return nil
}

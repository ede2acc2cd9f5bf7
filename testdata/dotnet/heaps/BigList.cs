// BigList.cs - the `list` scenario: a singly linked list of 1,000,000 nodes held by one static field.
// Owns: Heaps.Node, Heaps.NodeList and the truths about the list (count, sizes, depth).
using System;
using System.Runtime.CompilerServices;

namespace Heaps
{
    internal sealed class Node
    {
        public Node Next;
        public long Value;
    }

    internal static class NodeList
    {
        public static Node Head;
    }

    internal static class BigList
    {
        public const int Count = 1_000_000;

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Build()
        {
            long size;
            Node head = Truth.Measure(() => new Node { Value = 0 }, out size);
            Node last = head;
            for (int i = 1; i < Count; i++) {
                var n = new Node { Value = i };
                last.Next = n;
                last = n;
            }
            NodeList.Head = head;
            GC.Collect();

            Truth.Put("count." + typeof(Node).FullName, Count);
            Truth.Put("size." + typeof(Node).FullName, size);
            Truth.Put("retained.head", size * Count);
            Truth.Put("objsize.head", size * Count);
            Truth.Put("objsize.count.head", Count);
            Truth.Put("head.value", 0);
            Truth.Put("tail.value", Count - 1);
            // the tail is Count-1 references away from the head, Count hops from the static
            Truth.Put("tail.depth", Count - 1);
            Truth.Put("root", typeof(NodeList).FullName + ".Head");
        }
    }
}

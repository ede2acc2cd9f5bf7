// EventLeak.cs - the `events` scenario: 2,500 widgets subscribe to a static event, 500 unsubscribe, 2,000 leak.
// Owns: Heaps.Publisher (the static event), Heaps.Widget, Heaps.Registry and the truths they print.
using System;
using System.Collections.Generic;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Heaps
{
    internal static class Publisher
    {
        public static event EventHandler Changed;

        public static int Subscribers => Changed?.GetInvocationList().Length ?? 0;
    }

    internal sealed class Widget
    {
        public int Id;
        public byte[] Pixels;

        public Widget(int id) { Id = id; Pixels = new byte[64]; }

        public void OnChanged(object sender, EventArgs e) { Id++; }
    }

    // The widgets that were closed properly: unsubscribed, and still in use.
    internal static class Registry
    {
        public static List<Widget> Active = new List<Widget>();
    }

    internal static class EventLeak
    {
        public const int Leaked = 2000, Kept = 500;

        // Returns the bytes of the leaked widgets (their pixels too) and of their delegates.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static long Subscribe(out long delegateSize)
        {
            long leaked = 0, w1, d1;
            delegateSize = 0;
            for (int i = 0; i < Leaked + Kept; i++) {
                var w = Truth.Measure(() => new Widget(i), out w1);
                EventHandler h = Truth.Measure(() => new EventHandler(w.OnChanged), out d1);
                Publisher.Changed += h;
                delegateSize = d1;
                if (i % 5 == 0) {
                    // closed properly: unsubscribes, stays in the registry
                    Publisher.Changed -= h;
                    Registry.Active.Add(w);
                } else {
                    // dropped without unsubscribing: only the event holds it
                    leaked += w1 + d1;
                }
            }
            return leaked;
        }

        public static void Build()
        {
            long leakedBytes = Subscribe(out long delegateSize);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();

            // The chain from the static field to a leaked widget, read from the objects themselves.
            FieldInfo field = typeof(Publisher).GetField("Changed", BindingFlags.Static | BindingFlags.NonPublic);
            object del = field.GetValue(null);
            object list = typeof(MulticastDelegate).GetField("_invocationList", BindingFlags.Instance | BindingFlags.NonPublic).GetValue(del);
            object first = ((object[])list)[0];
            object target = ((Delegate)first).Target;
            int slots = ((object[])list).Length;
            Truth.Measure(() => new object[slots], out long listSize);

            Truth.Put("event", typeof(Publisher).FullName + "." + field.Name);
            Truth.Put("subscribers", Publisher.Subscribers);
            Truth.Put("subscriber.type", target.GetType().FullName);
            Truth.Put("root", typeof(Publisher).FullName + "." + field.Name);
            Truth.Put("chain", del.GetType().FullName + ">" + list.GetType().FullName + ">" + first.GetType().FullName + ">" + target.GetType().FullName);
            // what a full GC would free if the field were null: the leaked widgets, their
            // delegates, the invocation list and the multicast delegate itself
            Truth.Put("retained.event", leakedBytes + listSize + delegateSize);
            Truth.Put("count." + typeof(Widget).FullName, Leaked + Kept);
            Truth.Put("live." + typeof(Widget).FullName, Leaked + Kept);
        }
    }
}

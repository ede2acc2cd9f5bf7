// Heap.cs - `dotnet-bench heap [MILLIONS]`: a .NET heap of about MILLIONS million objects (default 10) to dump, and a deep object.
// Owns: Bench.Customer, Bench.Order, Bench.Link, Bench.Store (the statics that hold them) and the line the bench script reads.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Bench
{
    internal sealed class Order
    {
        public string Sku;
        public long Amount;
    }

    internal sealed class Customer
    {
        public string Name;
        public List<Order> Orders = new List<Order>(3);
        public int Id;
    }

    // A chain, so that one object is deep: gcroot has to walk far to reach it.
    internal sealed class Link
    {
        public Link Next;
        public int Depth;
    }

    internal static class Store
    {
        public static Dictionary<int, Customer> Customers;
        public static Link Chain;
    }

    internal static class Heap
    {
        public const int ChainLength = 100_000;

        // Ten objects per customer: itself, its name, its list and the list's array,
        // three orders with their SKU strings.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static Link Build(int customers)
        {
            Store.Customers = new Dictionary<int, Customer>(customers);
            for (int i = 0; i < customers; i++) {
                var c = new Customer { Id = i, Name = "customer " + i.ToString(CultureInfo.InvariantCulture) };
                for (int k = 0; k < 3; k++)
                    c.Orders.Add(new Order { Sku = "sku-" + (i * 3 + k).ToString(CultureInfo.InvariantCulture), Amount = k });
                Store.Customers.Add(i, c);
            }
            Link head = new Link(), tail = head;
            for (int d = 1; d < ChainLength; d++) {
                tail.Next = new Link { Depth = d };
                tail = tail.Next;
            }
            Store.Chain = head;
            return tail;
        }

        public static int Run(string[] args)
        {
            double millions = 10;
            if (args.Length > 1 || (args.Length == 1 && (!double.TryParse(args[0], NumberStyles.Float, CultureInfo.InvariantCulture, out millions) || millions <= 0 || millions > 200))) {
                Console.Error.WriteLine("usage: dotnet-bench heap [MILLIONS]   (objects, in millions: default 10, at most 200)");
                return 2;
            }
            int customers = (int)(millions * 1e6 / 10);
            Link deep = Build(customers);
            GC.Collect();
            GC.Collect();
            // the deep object is found by its depth (the last link of the chain)
            Console.Out.Write($"customers={customers} chain={ChainLength} deep.depth={deep.Depth} ready pid={Environment.ProcessId}\n");
            Console.Out.Flush();
            Console.In.ReadLine();
            GC.KeepAlive(deep);
            return 0;
        }
    }
}
